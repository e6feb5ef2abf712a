// TlsService and its sessions: TLS in memory between the architecture and the protocol.
//
// Each session owns an SSL with two memory BIOs: ciphertext the architecture hands to
// on_data goes into one, OpenSSL's output (handshake records, encrypted answers, alerts)
// is drained from the other into the real Output. The inner session sees only plaintext,
// through an Output adapter that encrypts what it writes.
//
// Threads: services with shared state may send through a Peer from any thread, so every
// use of the SSL takes the session's mutex, and no lock is held while the inner session
// runs (it may send to other sessions, or to itself). Once a Peer has been handed out,
// all ciphertext travels through the real Peer's queue, so records from the connection's
// own thread and from others reach the wire in the order OpenSSL numbered them.
#include "sockit/tls/tls_service.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "openssl_util.hpp"
#include "sockit/error.hpp"
#include "sockit/server/blocking_service.hpp"
#include "sockit/tls/tls_error.hpp"

namespace sockit {
namespace {

using detail::drain_bio;
using detail::take_error_reason;
using server::BlockingService;
using server::ConnectionInfo;
using server::Continuation;
using server::OffLoopWork;
using server::OutboundRequest;
using server::Output;
using server::Peer;
using server::Service;
using server::Session;
using server::TimerId;

// TLS records carry at most 16 KiB of plaintext: one record per SSL_read.
constexpr std::size_t plaintext_chunk = 16 * 1024;

// What the session and the Peers handed out share.
struct TlsState {
  std::mutex mutex;
  SSL* ssl = nullptr;
  BIO* in = nullptr;                // ciphertext from the peer (owned by ssl)
  BIO* out = nullptr;               // ciphertext for the peer (owned by ssl)
  std::shared_ptr<Peer> wire_peer;  // set once a Peer was asked for: all output goes here
  bool close_sent = false;
  bool half_closed = false;  // close_notify sent by close_write: still reading
  bool gone = false;
  std::string scratch;  // ciphertext on its way out; reused

  ~TlsState() { SSL_free(ssl); }

  // Encrypts `bytes` (caller holds the mutex). Memory BIOs never refuse a write.
  bool encrypt(std::string_view bytes) {
    while (!bytes.empty()) {
      ERR_clear_error();
      std::size_t written = 0;
      if (SSL_write_ex(ssl, bytes.data(), bytes.size(), &written) != 1) {
        ERR_clear_error();
        return false;
      }
      bytes.remove_prefix(written);
    }
    return true;
  }

  // Sends close_notify once (caller holds the mutex).
  void shutdown() {
    if (close_sent) return;
    close_sent = true;
    ERR_clear_error();
    SSL_shutdown(ssl);
    ERR_clear_error();
  }

  // Moves pending ciphertext to the wire (caller holds the mutex): through the real
  // Output during a callback, through the real Peer once one is in use.
  void flush(Output* output) {
    scratch.clear();
    drain_bio(out, scratch);
    if (scratch.empty()) return;
    if (wire_peer) {
      wire_peer->send(scratch);
    } else if (output != nullptr) {
      output->write(scratch);
    }
  }
};

// The Peer the inner session gets: encrypts, then queues through the real Peer.
class TlsPeer final : public Peer {
 public:
  explicit TlsPeer(std::shared_ptr<TlsState> state) : state_(std::move(state)) {}

  void send(std::string bytes) override {
    std::lock_guard lock(state_->mutex);
    if (state_->gone || state_->close_sent || bytes.empty()) return;
    if (state_->encrypt(bytes)) state_->flush(nullptr);
  }
  void close() override {
    std::lock_guard lock(state_->mutex);
    if (state_->gone || state_->close_sent) return;
    state_->shutdown();
    state_->flush(nullptr);
    state_->wire_peer->close();
  }

 private:
  std::shared_ptr<TlsState> state_;
};

class TlsSession final : public Session {
 public:
  // The server side: the inner session is opened from `inner_service` once the handshake
  // is done.
  TlsSession(std::shared_ptr<Service> inner_service, const TlsContext& context, ConnectionInfo info,
             const TlsService::Log& log, std::chrono::milliseconds handshake_timeout)
      : inner_service_(std::move(inner_service)),
        info_(info),
        log_(log),
        handshake_timeout_(handshake_timeout),
        state_(std::make_shared<TlsState>()) {
    make_ssl(context);
    SSL_set_accept_state(state_->ssl);
  }

  // The client side, for an outbound connection: `inner` opens once the handshake is done,
  // or hears on_connect_failed when it fails.
  TlsSession(std::unique_ptr<Session> inner, const TlsContext& context, const std::string& server,
             const TlsService::Log& log, std::chrono::milliseconds handshake_timeout)
      : log_(log),
        handshake_timeout_(handshake_timeout),
        state_(std::make_shared<TlsState>()),
        pending_inner_(std::move(inner)),
        client_(true),
        label_(server) {
    make_ssl(context);
    SSL_set_connect_state(state_->ssl);
    if (!server.empty() && !detail::set_server_name(state_->ssl, server)) {
      throw Error(tls_errc::configuration, "tls server name", server,
                  take_error_reason(nullptr, "invalid"));
    }
  }

  ~TlsSession() override {
    std::lock_guard lock(state_->mutex);
    state_->gone = true;
  }

  // The handshake must finish within the handshake timeout. A server has nothing to say
  // before the client's hello (its inner session opens after the handshake); a client
  // speaks first: its hello goes out now.
  void on_open(Output& out) override {
    if (handshake_timeout_.count() > 0) handshake_timer_ = out.start_timer(handshake_timeout_);
    if (client_) pump(out);
  }

  // An outbound connection that never opened: its inner session hears why.
  void on_connect_failed(const std::error_code& error, std::string_view reason) override {
    if (pending_inner_) pending_inner_->on_connect_failed(error, reason);
  }

  void on_timer(TimerId id, Output& out) override {
    if (id == handshake_timer_ && !established_) {
      handshake_timer_ = 0;
      if (!failed_) {
        fail_handshake(out,
                       "no handshake within " + std::to_string(handshake_timeout_.count()) + " ms");
      }
      return;
    }
    if (inner_) inner_->on_timer(id, adapt(out));
  }

  void on_drain(Output& out) override {
    if (inner_) inner_->on_drain(adapt(out));
  }

  void on_data(std::string_view bytes, Output& out) override {
    if (failed_) return;
    {
      std::lock_guard lock(state_->mutex);
      received_any_ = true;
      while (!bytes.empty()) {
        std::size_t written = 0;
        if (BIO_write_ex(state_->in, bytes.data(), bytes.size(), &written) != 1) break;
        bytes.remove_prefix(written);
      }
    }
    pump(out);
  }

  void on_eof(Output& out) override {
    if (failed_ || !established_) {
      // A client that connects and leaves (a port check) is not worth a log line; one
      // that left halfway through the handshake is.
      if (!failed_ && (received_any_ || client_)) {
        fail_handshake(out, "connection closed by peer");
      }
      failed_ = true;
      out.close();
      return;
    }
    // The peer closed TCP without close_notify. Lenient, like most servers: the inner
    // protocol decides whether what arrived was complete.
    if (!eof_delivered_) {
      eof_delivered_ = true;
      Adapter& adapter = adapt(out);
      inner_->on_eof(adapter);
    }
    std::lock_guard lock(state_->mutex);
    state_->flush(&out);
  }

  void on_close() override {
    {
      std::lock_guard lock(state_->mutex);
      state_->gone = true;
    }
    if (inner_) {
      inner_->on_close();
    } else if (pending_inner_) {
      pending_inner_->on_close();
    }
  }

 private:
  // The Output the inner session writes plaintext to. One per session, so the inner session
  // may keep it as it may keep a real Output; it points at the real Output of the latest
  // callback, which is the same object for a connection's whole life.
  class Adapter final : public Output {
   public:
    explicit Adapter(TlsSession& session) : session_(session) {}
    void bind(Output& real) noexcept { real_ = &real; }

    void write(std::string_view bytes) override {
      if (bytes.empty() || closing()) return;
      TlsState& s = *session_.state_;
      std::lock_guard lock(s.mutex);
      if (s.close_sent) return;
      if (s.encrypt(bytes)) s.flush(real_);
    }
    void close() override {
      TlsState& s = *session_.state_;
      std::lock_guard lock(s.mutex);
      if (s.close_sent && !s.half_closed) return;
      s.half_closed = false;
      s.shutdown();
      s.flush(real_);
      // With a Peer in use, earlier records may still sit in its queue: close behind them.
      if (s.wire_peer) {
        s.wire_peer->close();
      } else {
        real_->close();
      }
    }
    bool closing() const noexcept override {
      if (real_->closing()) return true;
      TlsState& s = *session_.state_;
      std::lock_guard lock(s.mutex);
      return s.close_sent && !s.half_closed;
    }
    // close_notify is TLS's EOF; reading goes on after it. Behind a Peer's queue, the
    // close_notify alone says it (a Peer has no half-close).
    void close_write() override {
      TlsState& s = *session_.state_;
      std::lock_guard lock(s.mutex);
      if (s.close_sent) return;
      s.shutdown();
      s.half_closed = true;
      s.flush(real_);
      if (!s.wire_peer) real_->close_write();
    }
    std::shared_ptr<Peer> peer() override {
      if (!session_.peer_) {
        std::shared_ptr<Peer> wire = real_->peer();
        TlsState& s = *session_.state_;
        std::lock_guard lock(s.mutex);
        // Whatever this callback produced so far goes out through the Output first.
        s.flush(real_);
        s.wire_peer = std::move(wire);
        session_.peer_ = std::make_shared<TlsPeer>(session_.state_);
      }
      return session_.peer_;
    }
    // Ciphertext waiting: close enough to the plaintext for flow control.
    std::size_t queued() const noexcept override { return real_->queued(); }
    void set_reading(bool on) override { real_->set_reading(on); }
    TimerId start_timer(std::chrono::milliseconds after) override {
      return real_->start_timer(after);
    }
    bool cancel_timer(TimerId id) noexcept override { return real_->cancel_timer(id); }
    void tally(server::Counter counter, std::uint64_t n) noexcept override {
      real_->tally(counter, n);
    }
    // The continuation runs with this adapter, so what it writes is encrypted. It runs only
    // while the connection, and so this session, is alive.
    bool run_off_loop(OffLoopWork work) override {
      TlsSession* session = &session_;
      return real_->run_off_loop([session, work = std::move(work)]() -> Continuation {
        Continuation then = work();
        return [session, then = std::move(then)](Output& real) {
          if (then) then(session->adapt(real));
        };
      });
    }
    // Outbound connections are plain TCP, whatever this one is.
    void connect(OutboundRequest request, std::unique_ptr<Session> outbound) override {
      real_->connect(std::move(request), std::move(outbound));
    }

   private:
    TlsSession& session_;
    Output* real_ = nullptr;
  };

  void make_ssl(const TlsContext& context) {
    ERR_clear_error();
    state_->ssl = SSL_new(context.native());
    BIO* in = state_->ssl != nullptr ? BIO_new(BIO_s_mem()) : nullptr;
    BIO* out = in != nullptr ? BIO_new(BIO_s_mem()) : nullptr;
    if (out == nullptr) {
      BIO_free(in);
      throw Error(tls_errc::configuration, "tls new session",
                  detail::peer_label(info_.peer, info_.local),
                  take_error_reason(nullptr, "out of memory"));
    }
    // An empty input BIO means "no data yet", not end of stream.
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(state_->ssl, in, out);
    state_->in = in;
    state_->out = out;
  }

  Adapter& adapt(Output& real) noexcept {
    adapter_.bind(real);
    return adapter_;
  }

  // The handshake failed: logged, the connection closed, and the inner session of an
  // outbound connection told.
  void fail_handshake(Output& out, const std::string& reason) {
    report("tls handshake with", reason);
    failed_ = true;
    out.tally(server::Counter::tls_failures);
    if (pending_inner_) {
      pending_inner_->on_connect_failed(make_error_code(tls_errc::handshake_failed),
                                        "tls handshake: " + reason);
    }
    out.close();
  }

  void report(std::string_view what, std::string_view reason) const {
    if (log_) {
      log_(std::string(what) + " " +
           (label_.empty() ? detail::peer_label(info_.peer, info_.local) : label_) + ": " +
           std::string(reason));
    }
  }

  // Runs the handshake, then hands every complete record's plaintext to the inner session.
  void pump(Output& out) {
    if (!established_ && !handshake(out)) return;
    Adapter& adapter = adapt(out);
    while (!adapter.closing()) {
      std::size_t got = 0;
      int result = 0;
      int error = SSL_ERROR_NONE;
      std::string reason;
      {
        std::lock_guard lock(state_->mutex);
        ERR_clear_error();
        result = SSL_read_ex(state_->ssl, plaintext_.get(), plaintext_chunk, &got);
        if (result != 1) {
          error = SSL_get_error(state_->ssl, result);
          if (error == SSL_ERROR_SSL || error == SSL_ERROR_SYSCALL) {
            reason = take_error_reason(state_->ssl, "protocol error");
          }
        }
        state_->flush(&out);  // post-handshake messages, alerts
      }
      if (result == 1) {
        inner_->on_data(std::string_view(plaintext_.get(), got), adapter);
        continue;
      }
      if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify: the TLS end of stream
        if (!eof_delivered_) {
          eof_delivered_ = true;
          inner_->on_eof(adapter);
        }
      } else if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        report("tls", reason);
        failed_ = true;
        out.close();
      }
      break;
    }
    std::lock_guard lock(state_->mutex);
    state_->flush(&out);
  }

  // One handshake step; true once established (and the inner session is open).
  bool handshake(Output& out) {
    std::string reason;
    {
      std::lock_guard lock(state_->mutex);
      ERR_clear_error();
      int result = SSL_do_handshake(state_->ssl);
      if (result != 1) {
        int error = SSL_get_error(state_->ssl, result);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
          state_->flush(&out);
          return false;
        }
        reason = take_error_reason(state_->ssl, "handshake failed");
      }
      state_->flush(&out);  // the server's flight, or the alert explaining a failure
    }
    if (!reason.empty()) {
      fail_handshake(out, reason);
      return false;
    }
    established_ = true;
    out.tally(server::Counter::tls_handshakes);
    if (handshake_timer_ != 0) out.cancel_timer(std::exchange(handshake_timer_, 0));
    plaintext_ = std::make_unique<char[]>(plaintext_chunk);
    inner_ = client_ ? std::move(pending_inner_) : inner_service_->open(info_);
    Adapter& adapter = adapt(out);
    inner_->on_open(adapter);
    return true;
  }

  std::shared_ptr<Service> inner_service_;
  ConnectionInfo info_;
  TlsService::Log log_;
  std::chrono::milliseconds handshake_timeout_;
  std::shared_ptr<TlsState> state_;
  std::shared_ptr<TlsPeer> peer_;
  std::unique_ptr<Session> inner_;
  std::unique_ptr<Session> pending_inner_;  // a client's inner session, until established
  const bool client_ = false;
  std::string label_;  // a client's server, for its log lines
  std::unique_ptr<char[]> plaintext_;
  Adapter adapter_{*this};
  TimerId handshake_timer_ = 0;
  bool established_ = false;
  bool failed_ = false;
  bool received_any_ = false;
  bool eof_delivered_ = false;
};

}  // namespace

TlsService::TlsService(std::shared_ptr<Service> inner, TlsContext context, Log log,
                       std::chrono::milliseconds handshake_timeout)
    : inner_(std::move(inner)),
      context_(std::move(context)),
      log_(std::move(log)),
      handshake_timeout_(handshake_timeout) {
  if (!inner_) throw std::invalid_argument("tls: no service to wrap");
  if (!context_.is_server()) throw std::invalid_argument("tls: a server context is needed");
  if (dynamic_cast<BlockingService*>(inner_.get()) != nullptr) {
    throw std::invalid_argument("service '" + std::string(inner_->name()) +
                                "' handles its socket itself and cannot be served over TLS");
  }
}

std::unique_ptr<Session> TlsService::open(const ConnectionInfo& connection) {
  return std::make_unique<TlsSession>(inner_, context_, connection, log_, handshake_timeout_);
}

std::unique_ptr<Session> tls_client_session(std::unique_ptr<Session> inner,
                                            const TlsContext& context,
                                            const std::string& server_name,
                                            const TlsService::Log& log,
                                            std::chrono::milliseconds handshake_timeout) {
  if (!inner) throw std::invalid_argument("tls: no session to wrap");
  if (context.is_server()) throw std::invalid_argument("tls: a client context is needed");
  return std::make_unique<TlsSession>(std::move(inner), context, server_name, log,
                                      handshake_timeout);
}

}  // namespace sockit
