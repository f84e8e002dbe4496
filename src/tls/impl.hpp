// impl.hpp — what the Context and the Engine share inside src/tls (not part of the contract).
//
// Purpose:   the OpenSSL objects behind tls::Context, the per-host session cache, and the small
//            helpers that turn OpenSSL's error queue and X509 names into one-line text.
// Trust:     the texts come from peer certificates: they are printed escaped (RFC 2253, no MSB).
// Errors:    none thrown; helpers return strings.
// Threading: the session cache is guarded by a mutex; everything else belongs to one thread.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <map>
#include <mutex>
#include <string>

#include "nullq/tls.hpp"

namespace nullq::tls {

struct Context::Impl {
  SSL_CTX* ctx = nullptr;
  bool client = true;
  bool verify = true;

  // The last session each host gave us (TLS 1.2 session or TLS 1.3 ticket), owned here.
  std::mutex sessions_mutex;
  std::map<std::string, SSL_SESSION*, std::less<>> sessions;

  ~Impl();
  void store_session(const std::string& host, SSL_SESSION* session);  // takes ownership
  SSL_SESSION* get_session(const std::string& host);                  // new reference or null
  void forget_session(const std::string& host);
};

// What the OpenSSL callbacks of one connection need; the SSL's ex_data slot points to it.
struct Link {
  Context::Impl* context = nullptr;
  std::string host;            // the session cache key ("" on the server side)
  std::string failed_subject;  // subject of the first certificate that failed verification
};
int link_ex_index();
// Client-side callbacks, set on the SSL_CTX.
int on_new_session(SSL* ssl, SSL_SESSION* session) noexcept;
int on_verify(int ok, X509_STORE_CTX* store) noexcept;

// One line from OpenSSL's error queue (and empties it): the first error's reason text.
std::string take_openssl_error();
// "CN=localhost,O=nullq test" (escaped, printable); "" for null.
std::string name_line(const X509_NAME* name);
// "2027-12-02 16:00:00 UTC"; "" when the time cannot be read.
std::string time_line(const ASN1_TIME* t);

}  // namespace nullq::tls
