// engine.cpp — tls::Engine: one SSL over two memory BIOs, driven by the caller's bytes.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include "impl.hpp"

namespace nullq::tls {

struct Engine::Impl {
  std::shared_ptr<Context> context;
  Link link;
  SSL* ssl = nullptr;
  BIO* rbio = nullptr;  // ciphertext from the peer (owned by ssl)
  BIO* wbio = nullptr;  // ciphertext to the peer (owned by ssl)
  bool client = true;
  bool done = false;    // handshake finished
  bool closed = false;  // close_notify received
  bool shut = false;    // close_notify sent
  std::string failure;  // set once: every later call returns it
  std::string held;     // plaintext given to send() before the handshake finished

  ~Impl() {
    if (ssl) SSL_free(ssl);
  }

  Status fail(std::string reason) {
    failure = std::move(reason);
    if (client && !done && !link.host.empty()) link.context->forget_session(link.host);
    return error();
  }
  Status error() const { return Error::temporary(ErrorDomain::protocol, failure); }

  // Why the last SSL call failed, as one line.
  std::string reason(const char* stage) {
    long vr = SSL_get_verify_result(ssl);
    if (client && link.context->verify && vr != X509_V_OK) {
      ERR_clear_error();
      std::string out = std::string("certificate verify failed: ") + X509_verify_cert_error_string(vr);
      if (!link.failed_subject.empty()) out += " (" + link.failed_subject + ")";
      return out;
    }
    unsigned long e = ERR_peek_error();
    int r = ERR_GET_REASON(e);
    if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL && r >= SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256) {
      ERR_clear_error();
      return std::string("TLS alert from ") + (client ? "server: " : "client: ") +
             SSL_alert_desc_string_long(r - SSL_AD_REASON_OFFSET);
    }
    return std::string(stage) + ": " + take_openssl_error();
  }

  Status flush_held() {
    if (held.empty()) return {};
    std::string data = std::move(held);
    held.clear();
    return write(data);
  }

  Status write(std::string_view data) {
    while (!data.empty()) {
      ERR_clear_error();
      int n = SSL_write(ssl, data.data(), data.size() > 1u << 30 ? 1 << 30 : static_cast<int>(data.size()));
      if (n <= 0) return fail(reason("TLS write failed"));
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }
};

namespace {

// "[::1]" -> "::1"; true when the host is an IPv4 or IPv6 address literal.
bool address_literal(std::string_view host, std::string& out) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  out.assign(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, out.c_str(), buf) == 1 || inet_pton(AF_INET6, out.c_str(), buf) == 1;
}

Result<std::unique_ptr<Engine::Impl>> make_impl(std::shared_ptr<Context> ctx) {
  auto impl = std::make_unique<Engine::Impl>();
  impl->link.context = &ctx->impl();
  impl->context = std::move(ctx);
  ERR_clear_error();
  impl->ssl = SSL_new(impl->link.context->ctx);
  impl->rbio = BIO_new(BIO_s_mem());
  impl->wbio = BIO_new(BIO_s_mem());
  if (!impl->ssl || !impl->rbio || !impl->wbio) {
    if (impl->rbio) BIO_free(impl->rbio);
    if (impl->wbio) BIO_free(impl->wbio);
    return Error::temporary(ErrorDomain::protocol, "TLS: out of memory: " + take_openssl_error());
  }
  SSL_set_bio(impl->ssl, impl->rbio, impl->wbio);
  SSL_set_ex_data(impl->ssl, link_ex_index(), &impl->link);
  return impl;
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::client(std::shared_ptr<Context> ctx, std::string_view host) {
  if (!ctx || !ctx->impl().client) std::abort();  // a server context here is a bug
  auto made = make_impl(std::move(ctx));
  if (!made) return std::move(made).error();
  std::unique_ptr<Impl> impl = std::move(made).value();
  impl->client = true;
  SSL* ssl = impl->ssl;
  std::string name;
  if (address_literal(host, name)) {
    // No SNI for an address (RFC 6066 §3); the certificate must carry the IP address.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1)
      return Error::permanent(ErrorDomain::config, "TLS: bad address " + name + ": " + take_openssl_error());
  } else {
    if (name.empty() || SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 || SSL_set1_host(ssl, name.c_str()) != 1)
      return Error::permanent(ErrorDomain::config, "TLS: bad host name '" + name + "'");
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  impl->link.host = name;
  if (SSL_SESSION* session = impl->link.context->get_session(name)) {
    SSL_set_session(ssl, session);
    SSL_SESSION_free(session);
  }
  SSL_set_connect_state(ssl);
  ERR_clear_error();
  int r = SSL_do_handshake(ssl);
  if (r != 1 && SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
    return Error::temporary(ErrorDomain::protocol, "TLS handshake failed: " + take_openssl_error());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<std::unique_ptr<Engine>> Engine::server(std::shared_ptr<Context> ctx) {
  if (!ctx || ctx->impl().client) std::abort();  // a client context here is a bug
  auto made = make_impl(std::move(ctx));
  if (!made) return std::move(made).error();
  std::unique_ptr<Impl> impl = std::move(made).value();
  impl->client = false;
  SSL_set_accept_state(impl->ssl);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Status Engine::receive(std::string_view cipher, std::string& plain) {
  Impl& m = *impl_;
  if (!m.failure.empty()) return m.error();
  while (!cipher.empty()) {
    int chunk = cipher.size() > 1u << 30 ? 1 << 30 : static_cast<int>(cipher.size());
    int n = BIO_write(m.rbio, cipher.data(), chunk);
    if (n <= 0) return m.fail("TLS: out of memory");
    cipher.remove_prefix(static_cast<std::size_t>(n));
  }
  if (!m.done) {
    ERR_clear_error();
    int r = SSL_do_handshake(m.ssl);
    if (r != 1) {
      int e = SSL_get_error(m.ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {};
      return m.fail(m.reason("TLS handshake failed"));
    }
    m.done = true;
    if (Status s = m.flush_held(); !s) return s;
  }
  if (m.closed) return {};
  char buf[16384];
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(m.ssl, buf, sizeof buf);
    if (n > 0) {
      plain.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    int e = SSL_get_error(m.ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {};
    if (e == SSL_ERROR_ZERO_RETURN) {
      m.closed = true;
      return {};
    }
    return m.fail(m.reason("TLS read failed"));
  }
}

Status Engine::send(std::string_view plain) {
  Impl& m = *impl_;
  if (!m.failure.empty()) return m.error();
  if (m.shut) return Error::temporary(ErrorDomain::protocol, "TLS: send after shutdown");
  if (!m.done) {
    m.held.append(plain);
    return {};
  }
  return m.write(plain);
}

std::string Engine::take_output() {
  std::string out;
  std::size_t pending = BIO_ctrl_pending(impl_->wbio);
  if (pending == 0) return out;
  out.resize(pending);
  int n = BIO_read(impl_->wbio, out.data(), static_cast<int>(pending));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

void Engine::shutdown() {
  Impl& m = *impl_;
  if (m.shut || !m.done || !m.failure.empty()) return;
  m.shut = true;
  ERR_clear_error();
  SSL_shutdown(m.ssl);  // 0: sent, the peer's close_notify not yet seen; that is all we need
  ERR_clear_error();
}

bool Engine::established() const { return impl_->done && impl_->failure.empty(); }
bool Engine::peer_closed() const { return impl_->closed; }

PeerInfo Engine::peer() const {
  const Impl& m = *impl_;
  PeerInfo p;
  if (!m.done) return p;
  p.version = SSL_get_version(m.ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(m.ssl)) p.cipher = SSL_CIPHER_get_name(c);
  if (X509* cert = SSL_get0_peer_certificate(m.ssl); cert && m.client) {
    p.subject = name_line(X509_get_subject_name(cert));
    p.issuer = name_line(X509_get_issuer_name(cert));
    p.not_after = time_line(X509_get0_notAfter(cert));
    long vr = SSL_get_verify_result(m.ssl);
    p.verified = vr == X509_V_OK;
    if (!p.verified) p.verify_error = X509_verify_cert_error_string(vr);
  } else if (m.client) {
    p.verify_error = "no peer certificate";
  }
  p.resumed = SSL_session_reused(m.ssl) == 1;
  if (!m.client)
    if (const char* sni = SSL_get_servername(m.ssl, TLSEXT_NAMETYPE_host_name)) p.server_name = sni;
  return p;
}

}  // namespace nullq::tls
