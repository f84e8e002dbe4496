// context.cpp — tls::Context: one SSL_CTX per configuration, client or server side.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

#include "impl.hpp"

namespace nullq::tls {

namespace {

int version_number(Version v) { return v == Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

// OpenSSL's own file errors say "system lib" and nothing useful: check the file first so that
// the message names it and says why (errno text).
Status readable(const std::string& what, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return Error::permanent(ErrorDomain::config, what + " " + path + ": " + std::strerror(err), err);
  }
  ::close(fd);
  return {};
}

Error bad_file(const std::string& what, const std::string& path) {
  return Error::permanent(ErrorDomain::config, what + " " + path + ": " + take_openssl_error());
}

Status load_chain(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file,
                  const char* cert_what, const char* key_what) {
  if (Status s = readable(cert_what, cert_file); !s) return s;
  if (Status s = readable(key_what, key_file); !s) return s;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) return bad_file(cert_what, cert_file);
  auto mismatch = [&] {
    ERR_clear_error();
    return Error::permanent(ErrorDomain::config,
                            std::string(key_what) + " " + key_file + " does not match " + cert_file);
  };
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) return mismatch();
    return bad_file(key_what, key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) return mismatch();
  return {};
}

}  // namespace

std::string take_openssl_error() {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e == 0) {
    out = "unknown error";
  } else if (const char* r = ERR_reason_error_string(e)) {
    out = r;
  } else {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  ERR_clear_error();
  return out;
}

std::string name_line(const X509_NAME* name) {
  if (!name) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "";
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data ? data : "", n > 0 ? static_cast<std::size_t>(n) : 0);
  BIO_free(bio);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return out;
}

std::string time_line(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "";
  char buf[64];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) return "";
  return buf;
}

int link_ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL hands each new client session (also TLS 1.3 tickets that arrive after the handshake)
// to this callback; keep the newest per host. Returning 1 keeps the reference.
int on_new_session(SSL* ssl, SSL_SESSION* session) noexcept {
  auto* link = static_cast<Link*>(SSL_get_ex_data(ssl, link_ex_index()));
  if (!link || !link->context || link->host.empty()) return 0;
  try {
    link->context->store_session(link->host, session);
  } catch (...) {
    return 0;
  }
  return 1;
}

// Keeps OpenSSL's decision; only notes which certificate failed first, for the error text.
int on_verify(int ok, X509_STORE_CTX* store) noexcept {
  if (ok) return ok;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* link = ssl ? static_cast<Link*>(SSL_get_ex_data(ssl, link_ex_index())) : nullptr;
  if (link && link->failed_subject.empty()) {
    try {
      if (X509* cert = X509_STORE_CTX_get_current_cert(store))
        link->failed_subject = name_line(X509_get_subject_name(cert));
    } catch (...) {
    }
  }
  return ok;
}

Context::Impl::~Impl() {
  for (auto& [host, session] : sessions) SSL_SESSION_free(session);
  if (ctx) SSL_CTX_free(ctx);
}

void Context::Impl::store_session(const std::string& host, SSL_SESSION* session) {
  std::lock_guard lock(sessions_mutex);
  auto [it, inserted] = sessions.try_emplace(host, session);
  if (!inserted) {
    SSL_SESSION_free(it->second);
    it->second = session;
  }
}

SSL_SESSION* Context::Impl::get_session(const std::string& host) {
  std::lock_guard lock(sessions_mutex);
  auto it = sessions.find(host);
  if (it == sessions.end()) return nullptr;
  SSL_SESSION_up_ref(it->second);
  return it->second;
}

void Context::Impl::forget_session(const std::string& host) {
  std::lock_guard lock(sessions_mutex);
  auto it = sessions.find(host);
  if (it == sessions.end()) return;
  SSL_SESSION_free(it->second);
  sessions.erase(it);
}

Context::Context(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Context::~Context() = default;

Result<std::shared_ptr<Context>> Context::make_client(const ClientOptions& o) {
  auto impl = std::make_unique<Impl>();
  impl->client = true;
  impl->verify = o.verify;
  ERR_clear_error();
  impl->ctx = SSL_CTX_new(TLS_client_method());
  if (!impl->ctx) return Error::temporary(ErrorDomain::config, "TLS: cannot make a context: " + take_openssl_error());
  SSL_CTX* ctx = impl->ctx;
  SSL_CTX_set_min_proto_version(ctx, version_number(o.min_version));
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (o.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();  // no system store: verify fails later
  } else {
    if (Status s = readable("TLS CA file", o.ca_file); !s) return std::move(s).error();
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) return bad_file("TLS CA file", o.ca_file);
  }
  // The chain is always checked, so that PeerInfo can say whether it holds; only with verify on
  // does a failure end the handshake.
  SSL_CTX_set_verify(ctx, o.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, on_verify);
  if (!o.cert_file.empty() || !o.key_file.empty()) {
    if (o.cert_file.empty())
      return Error::permanent(ErrorDomain::config, "TLS client key " + o.key_file + " given without a certificate");
    if (o.key_file.empty())
      return Error::permanent(ErrorDomain::config, "TLS client certificate " + o.cert_file + " given without a key");
    if (Status s = load_chain(ctx, o.cert_file, o.key_file, "TLS client certificate", "TLS client key"); !s)
      return std::move(s).error();
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  return std::shared_ptr<Context>(new Context(std::move(impl)));
}

Result<std::shared_ptr<Context>> Context::make_server(const ServerOptions& o) {
  auto impl = std::make_unique<Impl>();
  impl->client = false;
  impl->verify = false;
  ERR_clear_error();
  impl->ctx = SSL_CTX_new(TLS_server_method());
  if (!impl->ctx) return Error::temporary(ErrorDomain::config, "TLS: cannot make a context: " + take_openssl_error());
  SSL_CTX_set_min_proto_version(impl->ctx, version_number(o.min_version));
  SSL_CTX_set_mode(impl->ctx, SSL_MODE_RELEASE_BUFFERS);
  if (o.cert_file.empty() || o.key_file.empty())
    return Error::permanent(ErrorDomain::config, "TLS server needs a certificate and a key file");
  if (Status s = load_chain(impl->ctx, o.cert_file, o.key_file, "TLS certificate", "TLS key"); !s)
    return std::move(s).error();
  static const unsigned char sid_ctx[] = "nullq";
  SSL_CTX_set_session_id_context(impl->ctx, sid_ctx, sizeof sid_ctx - 1);
  return std::shared_ptr<Context>(new Context(std::move(impl)));
}

}  // namespace nullq::tls
