// TlsTransport: OpenSSL over a socket through a small BIO of our own, so every read and
// write is non-blocking (MSG_DONTWAIT) and never raises SIGPIPE (MSG_NOSIGNAL), whatever
// mode the socket is in. Waiting is poll(2) on the direction OpenSSL asked for when the
// same kind of operation last would have blocked.
#include "sockit/tls/tls_transport.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "openssl_util.hpp"
#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/tls/tls_error.hpp"

namespace sockit {
namespace {

using detail::take_error_reason;

int bio_fd(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

bool transient(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t n =
      ::send(bio_fd(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n >= 0) return static_cast<int>(n);
  if (transient(errno)) BIO_set_retry_write(bio);
  return -1;
}

int bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t n = ::recv(bio_fd(bio), data, static_cast<std::size_t>(size), MSG_DONTWAIT);
  if (n >= 0) return static_cast<int>(n);
  if (transient(errno)) BIO_set_retry_read(bio);
  return -1;
}

long bio_ctrl(BIO* bio, int cmd, long num, void* ptr) {
  (void)bio, (void)num, (void)ptr;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sockit socket");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

}  // namespace

TlsTransport::TlsTransport(Socket& socket, const TlsContext& context, std::string_view server_name)
    : socket_(&socket), fd_(socket.fd()), verify_(context.verifies_peer()) {
  ERR_clear_error();
  ssl_ = SSL_new(context.native());
  if (ssl_ == nullptr) {
    throw Error(tls_errc::configuration, "tls new connection", peer_name(), take_error_reason());
  }
  const BIO_METHOD* method = socket_method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw Error(tls_errc::configuration, "tls new connection", peer_name(), take_error_reason());
  }
  // The BIO's data slot is a pointer; the descriptor rides in it as an integer.
  // NOLINTNEXTLINE(performance-no-int-to-ptr)
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(socket.fd())));
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO from here on
  if (context.is_server()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (server_name.empty()) return;
  std::string name(server_name);
  bool ok = detail::set_server_name(ssl_, name);
  if (!ok) {
    SSL_free(ssl_);
    throw Error(tls_errc::configuration, "tls server name", name,
                take_error_reason(nullptr, "invalid"));
  }
}

TlsTransport::~TlsTransport() {
  // One SSL_shutdown through the MSG_DONTWAIT BIO cannot block; a full send buffer just
  // loses the close_notify. The fd check keeps it off a descriptor number reused after the
  // socket was closed.
  if (established_ && !failed_ && fd_ >= 0 && socket_->fd() == fd_ &&
      (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  SSL_free(ssl_);
}

std::string TlsTransport::peer_name() const {
  Address local;
  try {
    local = socket_->local_address();
  } catch (...) {
    // Only labels a message; the peer alone may do.
  }
  return detail::peer_label(socket_->peer_or_empty(), local);
}

void TlsTransport::fail_handshake(int ssl_error, int saved_errno) {
  failed_ = true;
  std::string reason;
  tls_errc code = tls_errc::handshake_failed;
  if (ssl_error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    reason = saved_errno != 0 ? std::strerror(saved_errno) : "connection closed by peer";
  } else if (detail::error_is_unexpected_eof()) {
    ERR_clear_error();
    reason = "connection closed by peer";
  } else {
    if (detail::error_is_verify_failure()) code = tls_errc::certificate_rejected;
    reason = take_error_reason(ssl_, "handshake failed");
  }
  throw Error(code, "tls handshake with", peer_name(), reason);
}

void TlsTransport::fail_io(std::string_view operation, int ssl_error, int saved_errno) {
  failed_ = true;
  if (ssl_error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    if (saved_errno != 0) throw_errno(operation, peer_name(), saved_errno);
    throw Error(tls_errc::closed_without_notify, std::string(operation), peer_name());
  }
  if (detail::error_is_unexpected_eof()) {
    ERR_clear_error();
    throw Error(tls_errc::closed_without_notify, std::string(operation), peer_name());
  }
  throw Error(tls_errc::protocol_error, std::string(operation), peer_name(),
              take_error_reason(ssl_, "protocol error"));
}

std::optional<Direction> TlsTransport::handshake_step() {
  if (established_) return std::nullopt;
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(ssl_);
  int saved_errno = errno;
  if (r == 1) {
    established_ = true;
    return std::nullopt;
  }
  int err = SSL_get_error(ssl_, r);
  // Reads and writes both run the handshake first, so both wait for what it needs.
  if (err == SSL_ERROR_WANT_READ) return read_needs_ = write_needs_ = Direction::read;
  if (err == SSL_ERROR_WANT_WRITE) return read_needs_ = write_needs_ = Direction::write;
  fail_handshake(err, saved_errno);
}

void TlsTransport::handshake(Deadline deadline) {
  while (auto direction = handshake_step()) {
    bool ready = *direction == Direction::read ? wait_readable(*socket_, deadline)
                                               : wait_writable(*socket_, deadline);
    if (!ready) {
      throw Error(make_error_code(std::errc::timed_out), "tls handshake with", peer_name());
    }
  }
}

std::string TlsTransport::protocol() const {
  return SSL_get_version(ssl_);
}

std::string TlsTransport::cipher() const {
  const char* name = SSL_get_cipher_name(ssl_);
  return name != nullptr ? name : "";
}

IoResult TlsTransport::read_some(std::span<char> buffer) {
  if (handshake_step()) return {IoStatus::would_block, 0};
  if (buffer.empty()) return {IoStatus::ok, 0};
  ERR_clear_error();
  errno = 0;
  std::size_t got = 0;
  int r = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &got);
  int saved_errno = errno;
  if (r == 1) return {IoStatus::ok, got};
  int err = SSL_get_error(ssl_, r);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      read_needs_ = Direction::read;
      return {IoStatus::would_block, 0};
    case SSL_ERROR_WANT_WRITE:
      read_needs_ = Direction::write;
      return {IoStatus::would_block, 0};
    case SSL_ERROR_ZERO_RETURN:
      return {IoStatus::eof, 0};
    default:
      fail_io("tls read", err, saved_errno);
  }
}

IoResult TlsTransport::write_some(std::string_view bytes) {
  if (handshake_step()) return {IoStatus::would_block, 0};
  if (bytes.empty()) return {IoStatus::ok, 0};
  ERR_clear_error();
  errno = 0;
  std::size_t written = 0;
  int r = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written);
  int saved_errno = errno;
  if (r == 1) return {IoStatus::ok, written};
  int err = SSL_get_error(ssl_, r);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      write_needs_ = Direction::read;
      return {IoStatus::would_block, 0};
    case SSL_ERROR_WANT_WRITE:
      write_needs_ = Direction::write;
      return {IoStatus::would_block, 0};
    default:
      fail_io("tls write", err, saved_errno);
  }
}

bool TlsTransport::wait(Direction op, Deadline deadline) {
  // A read may need the socket writable (a record of ours must go out first), a write may
  // need it readable; what matters is what the requested operation needed last time.
  const Direction needs = op == Direction::read ? read_needs_ : write_needs_;
  return needs == Direction::read ? wait_readable(*socket_, deadline)
                                  : wait_writable(*socket_, deadline);
}

void TlsTransport::close_write() {
  if (established_ && (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) {
    // close_notify is one small record: a full send buffer is the only reason to wait.
    Deadline deadline(std::chrono::seconds(10));
    for (;;) {
      ERR_clear_error();
      int r = SSL_shutdown(ssl_);
      if (r >= 0) break;
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_WRITE && wait_writable(*socket_, deadline)) continue;
      ERR_clear_error();
      break;  // the peer is gone or stuck; the FIN below still ends our side
    }
  }
  socket_->close_write();
}

std::unique_ptr<TlsClient> TlsClient::connect(std::string_view host, std::uint16_t port,
                                              const TlsContext& context,
                                              std::optional<std::chrono::milliseconds> timeout) {
  ConnectOptions options;
  options.timeout = timeout;
  TcpSocket socket = TcpSocket::connect(host, port, options);
  Deadline deadline = timeout ? Deadline(*timeout) : Deadline();
  return std::make_unique<TlsClient>(std::move(socket), context, host, deadline);
}

TlsClient::TlsClient(TcpSocket socket, const TlsContext& context, std::string_view server_name,
                     Deadline handshake_deadline)
    : socket_(std::move(socket)), transport_(socket_, context, server_name), stream_(transport_) {
  transport_.handshake(handshake_deadline);
}

}  // namespace sockit
