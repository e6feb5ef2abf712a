// TlsTransport: TLS over a connected stream socket, as a Transport, so a Stream on top of
// it gives read_line/read_exact/write_all with deadlines over TLS (Ruby: SSLSocket).
// Non-blocking underneath: OpenSSL's "want read/want write" become would_block plus the
// right wait(), so a read that needs the socket writable (or the reverse) still works.
// TlsClient bundles socket, transport and stream for the common "connect, then talk" case.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sockit/deadline.hpp"
#include "sockit/socket.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"
#include "sockit/tls/tls_context.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace sockit {

// Non-owning: the Socket must outlive the transport. Not thread-safe.
class TlsTransport final : public Transport {
 public:
  // The role (client or server) comes from the context. For clients, `server_name` is sent
  // as SNI and checked against the certificate (an IP literal is checked against the
  // certificate's IP addresses and not sent as SNI); empty skips the name check.
  TlsTransport(Socket& socket, const TlsContext& context, std::string_view server_name = {});
  // Best effort, never blocking or throwing: after a completed handshake, sends close_notify
  // if close_write() has not and no TLS error happened, so a peer that insists on it (as
  // this class does) sees a clean end rather than a possibly truncated stream. Skipped when
  // the Socket was closed or moved away first. A forked child that destroys its copy would
  // end the parent's session this way: such children should leave with _exit().
  ~TlsTransport() override;

  // Runs the handshake to completion. Throws Error "tls handshake with PEER: REASON", e.g.
  // "... certificate verify failed (hostname mismatch)", or timed_out when the deadline
  // passes. read_some/write_some run it implicitly when it has not been done.
  void handshake(Deadline deadline = {});
  // One non-blocking handshake step: nullopt once done, else the direction to wait for.
  std::optional<Direction> handshake_step();
  bool handshake_done() const noexcept { return established_; }

  // After the handshake: "TLSv1.3", "TLS_AES_256_GCM_SHA384".
  std::string protocol() const;
  std::string cipher() const;

  // eof means the peer sent close_notify; a TCP close without it throws
  // Error(tls_errc::closed_without_notify), since the data may have been cut short.
  IoResult read_some(std::span<char> buffer) override;
  IoResult write_some(std::string_view bytes) override;
  // Waits for what OpenSSL needs to continue `op`: after a read_some that would block
  // because a record must be written first, wait(read) polls for writable, and the reverse;
  // reads and writes keep their own needs, so interleaving them does not mix the two up.
  bool wait(Direction op, Deadline deadline) override;
  // Sends close_notify then FIN. Reading stays possible until the peer's close_notify.
  void close_write() override;
  int fd() const noexcept override { return socket_->fd(); }
  std::string peer_name() const override;

 private:
  [[noreturn]] void fail_handshake(int ssl_error, int saved_errno);
  [[noreturn]] void fail_io(std::string_view operation, int ssl_error, int saved_errno);

  Socket* socket_;
  int fd_ = -1;  // the descriptor the SSL writes to, to notice a socket closed under us
  ssl_st* ssl_ = nullptr;
  bool established_ = false;
  bool verify_ = true;
  bool failed_ = false;  // a TLS error was thrown: no close_notify after that
  // What the last read_some / write_some that would block needs from the socket.
  Direction read_needs_ = Direction::read;
  Direction write_needs_ = Direction::write;
};

// A TLS client connection: TCP connect, handshake, then a Stream over TLS. Destroying it
// sends close_notify (best effort, as ~TlsTransport) and then closes the socket.
//   auto tls = TlsClient::connect("example.org", 443, TlsContext::client());
//   tls->stream().write_all("GET / HTTP/1.0\r\n\r\n");
class TlsClient {
 public:
  // `timeout` bounds the TCP connect and, separately, the handshake. Errors are those of
  // TcpSocket::connect and TlsTransport::handshake.
  static std::unique_ptr<TlsClient> connect(std::string_view host, std::uint16_t port,
                                            const TlsContext& context,
                                            std::optional<std::chrono::milliseconds> timeout = {});
  // Over an already connected socket; `server_name` as for TlsTransport.
  TlsClient(TcpSocket socket, const TlsContext& context, std::string_view server_name,
            Deadline handshake_deadline = {});
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  Stream& stream() noexcept { return stream_; }
  TlsTransport& transport() noexcept { return transport_; }
  TcpSocket& socket() noexcept { return socket_; }

 private:
  TcpSocket socket_;
  TlsTransport transport_;
  Stream stream_;
};

}  // namespace sockit
