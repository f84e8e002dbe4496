// testcerts.hpp — certificates made at test time, with the OpenSSL API (no `openssl` command).
//
// Purpose:   give the TLS tests and the test smart host a small PKI in a directory: a CA, a good
//            server certificate (localhost, 127.0.0.1, ::1), one for the wrong name, an expired
//            one, a client certificate, and a second CA that signed none of them ("unknown CA").
//            EC P-256 keys, so making all of them takes a few milliseconds.
// Trust:     none; test material only. Keys are written unencrypted, mode 0600.
// Errors:    make_certs() returns an Error (sys or format) naming the file it could not write.
// Threading: any thread; OpenSSL 3.0 is thread-safe for this.
#pragma once

#include <string>

#include "nullq/result.hpp"

typedef struct ssl_ctx_st SSL_CTX;

namespace nullq::testhost {

struct CertFiles {
  std::string dir;
  std::string ca_cert, ca_key;                  // ca.pem, ca.key: "CN=nullq test CA"
  std::string server_cert, server_key;          // server.pem: CN=localhost, DNS:localhost, IP:127.0.0.1, IP:::1
  std::string wrong_name_cert, wrong_name_key;  // wrong-name.pem: CN=wrong.example, DNS:wrong.example only
  std::string expired_cert, expired_key;        // expired.pem: localhost names, expired yesterday
  std::string client_cert, client_key;          // client.pem: CN=nullq test client, clientAuth
  std::string other_ca_cert, other_ca_key;      // other-ca.pem: a CA that signed none of the above
};

// The file names make_certs() uses in `dir` (nothing is written).
CertFiles cert_files(const std::string& dir);
// Writes all of them into `dir` (which must exist); certificates valid from an hour ago for 30 days.
Result<CertFiles> make_certs(const std::string& dir);

// A server SSL_CTX with that certificate chain and key (the test host's SMTP listeners and its
// identity provider); the caller frees it. An Error names the file OpenSSL refused.
Result<SSL_CTX*> server_tls_context(const std::string& cert_file, const std::string& key_file);

}  // namespace nullq::testhost
