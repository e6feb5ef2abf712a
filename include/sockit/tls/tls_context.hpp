// TlsContext: the settings every TLS connection of one side shares (OpenSSL's SSL_CTX):
// certificates, keys, trusted CAs, protocol floor. Secure by default: TLS 1.2 minimum,
// renegotiation refused, and clients verify the server's certificate against the system's
// CA store unless told otherwise. Cheap to copy; safe to share between threads.
#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace sockit {

struct TlsClientOptions {
  std::string ca_file;  // PEM bundle of trusted CAs; empty: the system's CA store
  bool verify = true;   // false turns certificate and hostname checks off (--insecure)
  // Optional client certificate (chain, leaf first) and its private key, both PEM.
  std::string cert_file;
  std::string key_file;
};

struct TlsServerOptions {
  std::string cert_file;  // PEM certificate chain, leaf first
  std::string key_file;   // PEM private key matching the leaf
  // Non-empty: ask for a client certificate and require one signed by these CAs.
  std::string client_ca_file;
};

class TlsContext {
 public:
  // Throws Error(tls_errc::configuration) naming the file that could not be used:
  //   "tls load certificate server.crt: no start line"
  static TlsContext client(const TlsClientOptions& options = {});
  static TlsContext server(const TlsServerOptions& options);

  bool is_server() const noexcept { return server_; }
  // Whether peers' certificates are checked (clients: unless --insecure).
  bool verifies_peer() const noexcept { return verify_; }
  ssl_ctx_st* native() const noexcept { return ctx_.get(); }

 private:
  TlsContext(std::shared_ptr<ssl_ctx_st> ctx, bool server, bool verify) noexcept
      : ctx_(std::move(ctx)), server_(server), verify_(verify) {}

  std::shared_ptr<ssl_ctx_st> ctx_;
  bool server_ = false;
  bool verify_ = true;
};

}  // namespace sockit
