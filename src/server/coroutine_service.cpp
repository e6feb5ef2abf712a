// CoroutineService: one coroutine per connection, run by an ordinary Session (see
// sockit/server/coroutine_service.hpp).
#include "sockit/server/coroutine_service.hpp"

#include <exception>
#include <stdexcept>
#include <utility>

#include "sockit/error.hpp"
#include "sockit/server/line_session.hpp"
#include "sockit/server/server.hpp"

namespace sockit::server {

namespace {

AsyncStreamOptions stream_options(const SessionLimits& limits) {
  AsyncStreamOptions options;
  if (limits.max_line != 0) options.max_line = limits.max_line;
  options.rate_per_second = limits.rate_per_second;
  return options;
}

class CoroutineSession final : public Session, private sockit::detail::TaskHook {
 public:
  CoroutineSession(std::shared_ptr<const CoroutineService::Handler> handler,
                   const ConnectionInfo& connection)
      : handler_(std::move(handler)),
        peer_(connection.peer),
        stream_(stream_options(connection.limits)) {}
  // The coroutine frames go first: their awaiters unhook from the stream.
  ~CoroutineSession() override { root_ = Task<void>{}; }
  CoroutineSession(const CoroutineSession&) = delete;
  CoroutineSession& operator=(const CoroutineSession&) = delete;

  void on_open(Output& out) override {
    {
      Driving driving(*this);
      stream_.open(out);
      root_ = (*handler_)(stream_);
      root_.start(*this);
    }
    settle(&out, true);
  }
  void on_data(std::string_view bytes, Output& out) override {
    {
      Driving driving(*this);
      stream_.feed(bytes);
    }
    settle(&out, true);
  }
  void on_eof(Output& out) override {
    {
      Driving driving(*this);
      stream_.feed_eof();
    }
    settle(&out, true);
  }
  void on_timer(TimerId id, Output& out) override {
    {
      Driving driving(*this);
      stream_.timer_fired(id);
    }
    settle(&out, true);
  }
  void on_drain(Output& out) override {
    {
      Driving driving(*this);
      stream_.drained();
    }
    settle(&out, true);
  }
  void on_close() override {
    {
      Driving driving(*this);
      stream_.connection_closed();
    }
    settle(nullptr, true);
  }

 private:
  // Marks the callbacks that feed the stream: a handler finishing inside one is settled
  // when it returns, so its exception can leave through it.
  struct Driving {
    explicit Driving(CoroutineSession& session) noexcept : owner(session) { ++owner.driving_; }
    ~Driving() { --owner.driving_; }
    Driving(const Driving&) = delete;
    Driving& operator=(const Driving&) = delete;
    CoroutineSession& owner;
  };

  std::coroutine_handle<> task_finished(std::exception_ptr error) noexcept override {
    finished_ = true;
    failure_ = std::move(error);
    // Finished from elsewhere (off-loop work coming back, an outbound connection's
    // callback): there is no callback of ours to throw through.
    if (driving_ == 0) {
      try {
        settle(stream_.output(), false);
      } catch (...) {
      }
    }
    return std::noop_coroutine();
  }

  // Once the handler has finished: close, answer an over-long line, or report a failure
  // (thrown when `may_throw`, else logged).
  void settle(Output* out, bool may_throw) {
    if (!finished_ || settled_) return;
    settled_ = true;
    std::exception_ptr failure = std::exchange(failure_, nullptr);
    auto close = [out] {
      if (out != nullptr && !out->closing()) out->close();
    };
    if (!failure) return close();
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(failure);
    } catch (const Error& e) {
      if (e.code() == errc::line_too_long) {
        if (out != nullptr && !out->closing()) {
          out->write(line_too_long_message(stream_.options().max_line));
        }
        return close();
      }
      if (e.code() == std::errc::operation_canceled && stream_.is_closed()) return;
      what = e.what();
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    if (may_throw) std::rethrow_exception(failure);
    log_info("coroutine handler for " + peer_.to_string() + " failed: " + what);
    close();
  }

  std::shared_ptr<const CoroutineService::Handler> handler_;
  Address peer_;
  AsyncStream stream_;
  Task<void> root_;  // after stream_: destroyed before it
  std::exception_ptr failure_;
  int driving_ = 0;
  bool finished_ = false;
  bool settled_ = false;
};

}  // namespace

CoroutineService::CoroutineService(std::string name, std::uint16_t default_port, Handler handler)
    : name_(std::move(name)),
      default_port_(default_port),
      handler_(std::make_shared<const Handler>(std::move(handler))) {
  if (!*handler_) throw std::invalid_argument("CoroutineService " + name_ + ": no handler");
}

std::unique_ptr<Session> CoroutineService::open(const ConnectionInfo& connection) {
  return make_coroutine_session(handler_, connection);
}

std::unique_ptr<Session> make_coroutine_session(
    std::shared_ptr<const CoroutineService::Handler> handler, const ConnectionInfo& connection) {
  return std::make_unique<CoroutineSession>(std::move(handler), connection);
}

}  // namespace sockit::server
