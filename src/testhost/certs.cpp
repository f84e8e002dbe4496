// certs.cpp — a CA and the server/client certificates the TLS tests need (testcerts.hpp).
#include "nullq/testcerts.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <memory>
#include <unistd.h>

namespace nullq::testhost {

namespace {

struct KeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct CertFree { void operator()(X509* x) const { X509_free(x); } };
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

std::string ossl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct Spec {
  std::string cn;
  bool ca = false;
  std::string san;            // "DNS:localhost,IP:127.0.0.1"
  std::string eku;            // "serverAuth"
  long not_before = -3600;    // seconds from now
  long not_after = 30L * 86400;
};

Result<Cert> make_cert(const Spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  Cert x(X509_new());
  if (!x) return Error::temporary(ErrorDomain::format, "X509_new: " + ossl_error());
  X509_set_version(x.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("nullq test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : x.get();
  X509_set_issuer_name(x.get(), X509_get_subject_name(signer));

  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, signer, x.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) -> bool {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) return false;
    bool ok = X509_add_ext(x.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
  };
  bool ok = add(NID_subject_key_identifier, "hash");
  if (spec.ca) {
    ok = ok && add(NID_basic_constraints, "critical,CA:TRUE") && add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add(NID_basic_constraints, "critical,CA:FALSE") &&
         add(NID_key_usage, "critical,digitalSignature,keyEncipherment") && add(NID_authority_key_identifier, "keyid");
    if (!spec.eku.empty()) ok = ok && add(NID_ext_key_usage, spec.eku);
    if (!spec.san.empty()) ok = ok && add(NID_subject_alt_name, spec.san);
  }
  if (!ok) return Error::temporary(ErrorDomain::format, "certificate extension for " + spec.cn + ": " + ossl_error());
  if (X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
    return Error::temporary(ErrorDomain::format, "signing " + spec.cn + ": " + ossl_error());
  return x;
}

Result<Key> make_key() {
  Key k(EVP_EC_gen("P-256"));
  if (!k) return Error::temporary(ErrorDomain::format, "EC key: " + ossl_error());
  return k;
}

// Written under a temporary name and renamed, so a reader never sees half a file.
Status write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key ? 0600 : 0644);
  if (fd < 0) return Error::from_errno(errno, "write " + tmp);
  FILE* f = ::fdopen(fd, "w");
  if (!f) {
    int err = errno;
    ::close(fd);
    return Error::from_errno(err, "write " + tmp);
  }
  errno = 0;
  bool ok = cert ? PEM_write_X509(f, cert) == 1
                 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = std::fflush(f) == 0 && ok;
  int err = errno;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    return Error::from_errno(err ? err : EIO, "write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Error::from_errno(errno, "rename " + path);
  return {};
}

}  // namespace

CertFiles cert_files(const std::string& dir) {
  CertFiles f;
  f.dir = dir;
  auto p = [&](const char* name) { return dir + "/" + name; };
  f.ca_cert = p("ca.pem");
  f.ca_key = p("ca.key");
  f.server_cert = p("server.pem");
  f.server_key = p("server.key");
  f.wrong_name_cert = p("wrong-name.pem");
  f.wrong_name_key = p("wrong-name.key");
  f.expired_cert = p("expired.pem");
  f.expired_key = p("expired.key");
  f.client_cert = p("client.pem");
  f.client_key = p("client.key");
  f.other_ca_cert = p("other-ca.pem");
  f.other_ca_key = p("other-ca.key");
  return f;
}

Result<CertFiles> make_certs(const std::string& dir) {
  CertFiles f = cert_files(dir);
  ERR_clear_error();
  struct Item {
    Spec spec;
    const std::string* cert;
    const std::string* key;
    bool signed_by_ca;
  };
  const std::string localhost = "DNS:localhost,IP:127.0.0.1,IP:::1";
  Item items[] = {
      {{"nullq test CA", true, "", "", -3600, 3650L * 86400}, &f.ca_cert, &f.ca_key, false},
      {{"localhost", false, localhost, "serverAuth"}, &f.server_cert, &f.server_key, true},
      {{"wrong.example", false, "DNS:wrong.example", "serverAuth"}, &f.wrong_name_cert, &f.wrong_name_key, true},
      {{"localhost", false, localhost, "serverAuth", -2 * 86400, -86400}, &f.expired_cert, &f.expired_key, true},
      {{"nullq test client", false, "", "clientAuth"}, &f.client_cert, &f.client_key, true},
      {{"nullq other CA", true, "", "", -3600, 3650L * 86400}, &f.other_ca_cert, &f.other_ca_key, false},
  };
  Cert ca;
  Key ca_key;
  for (Item& item : items) {
    auto key = make_key();
    if (!key) return std::move(key).error();
    auto cert = make_cert(item.spec, key->get(), item.signed_by_ca ? ca.get() : nullptr,
                          item.signed_by_ca ? ca_key.get() : nullptr);
    if (!cert) return std::move(cert).error();
    if (Status s = write_pem(*item.cert, cert->get(), nullptr); !s) return std::move(s).error();
    if (Status s = write_pem(*item.key, nullptr, key->get()); !s) return std::move(s).error();
    if (!ca) {
      ca = std::move(cert).value();
      ca_key = std::move(key).value();
    }
  }
  return f;
}

Result<SSL_CTX*> server_tls_context(const std::string& cert_file, const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Error::temporary(ErrorDomain::config, "SSL_CTX_new failed");
  auto fail = [&](const std::string& what) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    SSL_CTX_free(ctx);
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return Error::permanent(ErrorDomain::config, what + ": " + buf);
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) return fail("certificate " + cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) return fail("key " + key_file);
  static const unsigned char sid[] = "nullq-testhost";
  SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
  return ctx;
}

}  // namespace nullq::testhost
