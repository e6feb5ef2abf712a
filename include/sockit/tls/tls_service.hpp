// TlsService: serves any Service over TLS, on every architecture, without the service or
// the architecture knowing. It decorates each Session: ciphertext from the architecture
// goes through OpenSSL in memory (no socket access), plaintext reaches the inner session,
// and its answers are encrypted on their way to the real Output. Shared-state services
// (Peer handles used from other threads) keep working: their sends are encrypted too.
// Like everything under sockit/tls/, it lives in namespace sockit and in sockit_tls.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/server/session.hpp"
#include "sockit/tls/tls_context.hpp"

namespace sockit {

class TlsService final : public server::Service {
 public:
  static constexpr std::chrono::milliseconds default_handshake_timeout{10'000};

  // Receives one line per failed handshake or TLS error, e.g.
  // "tls handshake with 127.0.0.1:50312: wrong version number" (a plaintext client).
  using Log = std::function<void(std::string_view message)>;

  // `context` must be a server context. Throws std::invalid_argument for a service that
  // cannot be wrapped (a BlockingService owns its socket, so bytes cannot be decrypted
  // on their way to it).
  // A client must finish its handshake within `handshake_timeout` (0: no limit), or it is
  // closed and logged: one that connects and never says hello holds a connection slot only
  // that long.
  TlsService(std::shared_ptr<server::Service> inner, TlsContext context, Log log = {},
             std::chrono::milliseconds handshake_timeout = default_handshake_timeout);

  std::string_view name() const override { return inner_->name(); }
  std::uint16_t default_port() const override { return inner_->default_port(); }
  bool needs_shared_state() const override { return inner_->needs_shared_state(); }
  std::vector<std::shared_ptr<server::ServiceLink>> links() const override {
    return inner_->links();
  }
  bool needs_concurrency() const override { return inner_->needs_concurrency(); }
  std::string_view per_process_state() const override { return inner_->per_process_state(); }
  // A plaintext "server full" line would be garbage to a TLS client: send nothing.
  std::string_view full_message() const override { return {}; }
  // The inner session is opened only once the handshake succeeds, so a failed handshake
  // never reaches the protocol.
  std::unique_ptr<server::Session> open(const server::ConnectionInfo& connection) override;

 private:
  std::shared_ptr<server::Service> inner_;
  TlsContext context_;
  Log log_;
  std::chrono::milliseconds handshake_timeout_;
};

// The client side of the same, for outbound connections (Output::connect): a Session that
// runs a TLS handshake as a client of `server_name` (SNI and, when the context verifies,
// the certificate's name; empty: neither), then drives `inner` with plaintext. A failed
// handshake reaches `inner` as on_connect_failed (tls_errc::handshake_failed, or
// certificate_rejected's reason in the text), then on_close.
std::unique_ptr<server::Session> tls_client_session(
    std::unique_ptr<server::Session> inner, const TlsContext& context,
    const std::string& server_name, const TlsService::Log& log = {},
    std::chrono::milliseconds handshake_timeout = TlsService::default_handshake_timeout);

}  // namespace sockit
