// TLS filters for SMTP sessions (see smtp_tls.hpp, PROTOCOLS.md §5b).
#include "smtp_tls.hpp"

#include <map>
#include <memory>
#include <tuple>

#include "nullq/tls.hpp"

namespace nullq::send {

namespace {

class EngineFilter final : public client::SecureFilter {
 public:
  explicit EngineFilter(std::unique_ptr<tls::Engine> e, bool verify) : e_(std::move(e)), verify_(verify) {}
  Status receive(std::string_view cipher, std::string& plain) override { return e_->receive(cipher, plain); }
  Status send(std::string_view plain) override { return e_->send(plain); }
  std::string take_output() override { return e_->take_output(); }
  bool established() const override { return e_->established(); }
  std::string describe() const override {
    if (!e_->established()) return "TLS handshake not finished";
    tls::PeerInfo p = e_->peer();
    std::string s = p.version + " " + p.cipher;
    if (p.verified) s += ", certificate verified";
    else if (!verify_) s += ", certificate not checked";
    else s += ", certificate NOT verified: " + p.verify_error;
    s += "; subject " + p.subject + "; issuer " + p.issuer + "; expires " + p.not_after;
    return s;
  }
  tls::PeerInfo peer() const { return e_->peer(); }

 private:
  std::unique_ptr<tls::Engine> e_;
  bool verify_;
};

tls::ClientOptions options_for(const config::TlsSettings& t, bool verify) {
  tls::ClientOptions o;
  o.verify = verify;
  o.ca_file = t.ca_file;
  o.cert_file = t.cert_file;
  o.key_file = t.key_file;
  o.min_version = t.min_version == config::TlsVersion::tls1_3 ? tls::Version::tls1_3 : tls::Version::tls1_2;
  return o;
}

client::FilterFactory factory(std::shared_ptr<tls::Context> ctx, bool verify) {
  return [ctx, verify](std::string_view host) -> Result<std::unique_ptr<client::SecureFilter>> {
    auto e = tls::Engine::client(ctx, host);
    if (!e.ok()) return e.error();
    return std::unique_ptr<client::SecureFilter>(std::make_unique<EngineFilter>(std::move(e).value(), verify));
  };
}

// The MX contexts, made on first use and shared by every exchanger.
struct MxContexts {
  std::shared_ptr<tls::Context> verify, no_verify;
};

}  // namespace

Result<SmtpSetup> make_smtp_setup(const config::Config& c, std::vector<std::string>& warnings) {
  SmtpSetup s = smtp_setup(c);
  std::map<const config::SmartHost*, client::FilterFactory> hosts;
  for (const auto& h : c.smarthosts) {
    if (!h.is_smtp()) continue;
    if (h.starttls == config::StartTls::off && h.protocol == config::Protocol::smtp) continue;
    auto ctx = tls::Context::make_client(options_for(h.tls, h.tls.verify));
    if (!ctx.ok()) {
      Error e = ctx.error();
      e.detail = h.text + ": " + e.detail;
      return e;
    }
    if (!h.tls.verify) warnings.push_back(h.text + ": tls.verify is false: the server's certificate is not checked");
    hosts[&h] = factory(std::move(ctx).value(), h.tls.verify);
  }
  // Keyed by the host's text: the router copies SmartHosts, so addresses do not survive.
  std::map<std::string, client::FilterFactory> by_text;
  for (const auto& [h, f] : hosts) by_text[h->text] = f;
  auto mx = std::make_shared<MxContexts>();
  s.tls = [by_text, mx](const config::SmartHost& h, bool is_mx, bool verify) -> client::FilterFactory {
    if (!is_mx) {
      auto it = by_text.find(h.text);
      return it == by_text.end() ? client::FilterFactory{} : it->second;
    }
    return [mx, verify](std::string_view host) -> Result<std::unique_ptr<client::SecureFilter>> {
      auto& slot = verify ? mx->verify : mx->no_verify;
      if (!slot) {
        tls::ClientOptions o;
        o.verify = verify;
        auto ctx = tls::Context::make_client(o);
        if (!ctx.ok()) return ctx.error();
        slot = std::move(ctx).value();
      }
      return factory(slot, verify)(host);
    };
  };
  return s;
}

}  // namespace nullq::send
