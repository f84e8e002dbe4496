// tls.hpp — TLS as a filter with no I/O: OpenSSL 3.0 over memory BIOs (PROTOCOLS.md §5b).
//
// Purpose:   one TLS connection's state machine that any session can put between its socket and
//            its codec: ciphertext read from the socket goes in with receive(), plaintext comes
//            out; plaintext to send goes in with send(), ciphertext to write comes out of
//            take_output(). The same Engine serves STARTTLS (start it after the 220) and implicit
//            TLS (start it right after connect). Contexts are built once per configuration and
//            shared by every connection (and keep the per-host SSL_SESSION for resumption).
// Trust:     everything the peer sends is hostile; OpenSSL parses it. Certificate verification
//            (chain + host name, or the IP address for an address literal) is on unless the
//            options turn it off.
// Errors:    make() returns ErrorDomain::config, permanent, for unreadable or bad files (the
//            message names the file). receive()/send() return ErrorDomain::protocol, temporary,
//            with a one-line reason: "TLS handshake failed: <reason>", "certificate verify
//            failed: <X509 reason> (<subject>)", "TLS alert from server: <alert>".
//            Never throws.
// Threading: an Engine belongs to one thread (the loop thread). A Context may be shared by the
//            Engines of one thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "nullq/result.hpp"

namespace nullq::tls {

enum class Version { tls1_2, tls1_3 };

struct ClientOptions {
  bool verify = true;               // chain and host name (or IP address) check
  std::string ca_file;              // "" = the system's default verify paths
  std::string cert_file;            // client certificate (PEM), optional
  std::string key_file;             // its key (PEM); required when cert_file is set
  Version min_version = Version::tls1_2;
};

struct ServerOptions {
  std::string cert_file;            // PEM chain
  std::string key_file;             // PEM key
  Version min_version = Version::tls1_2;
};

class Context {
 public:
  static Result<std::shared_ptr<Context>> make_client(const ClientOptions& options);
  static Result<std::shared_ptr<Context>> make_server(const ServerOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit Context(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What `nullq check` and the logs show about an established connection.
struct PeerInfo {
  std::string version;      // "TLSv1.3"
  std::string cipher;       // "TLS_AES_256_GCM_SHA384"
  std::string subject;      // one line, printable
  std::string issuer;
  std::string not_after;    // "2027-12-02 16:00:00 UTC"
  bool verified = false;    // chain and name verified
  std::string verify_error; // "" when verified, else the X509 reason
  bool resumed = false;     // the session was resumed
  std::string server_name;  // server side: the SNI the client sent ("" = none)
};

class Engine {
 public:
  // `host` is the name or address literal the connection was made for: a name is sent as SNI and
  // checked against the certificate; an address literal is checked against the certificate's IP
  // entries and sends no SNI. The handshake starts at once: take_output() holds the ClientHello.
  static Result<std::unique_ptr<Engine>> client(std::shared_ptr<Context> ctx, std::string_view host);
  static Result<std::unique_ptr<Engine>> server(std::shared_ptr<Context> ctx);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Ciphertext from the socket. Drives the handshake; appends decrypted application data to
  // `plain`. An error is final for this connection (take_output() may still hold an alert to send).
  // A close_notify from the peer is not an error: peer_closed() turns true.
  Status receive(std::string_view cipher, std::string& plain);
  // Plaintext to send. Before the handshake is done it is held and sent once it is.
  Status send(std::string_view plain);
  // Ciphertext to write to the socket now; empties the buffer.
  std::string take_output();
  // Sends close_notify (its bytes come out of take_output()).
  void shutdown();

  bool established() const;  // handshake done (and verified when verification is on)
  bool peer_closed() const;  // the peer sent close_notify: no more data will come
  PeerInfo peer() const;     // meaningful once established()

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nullq::tls
