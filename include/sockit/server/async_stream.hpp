// sockit::server::AsyncStream: the coroutine view of one connection. It is fed by the
// Session behind the connection (a CoroutineService's, or its own for an outbound
// connection) and offers awaitables: reads, writes with flow control, timers, off-loop work
// and outbound connections. Each awaiter lives in the awaiting coroutine's frame and the
// input buffer is reused, so a steady read/write loop allocates nothing.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "sockit/deadline.hpp"
#include "sockit/error.hpp"
#include "sockit/server/session.hpp"
#include "sockit/server/token_bucket.hpp"

namespace sockit::server {

struct AsyncStreamOptions {
  std::size_t max_line = default_max_line;  // read_line's limit when it is given none
  double rate_per_second = 0;               // lines per second read_line accepts; 0 = no limit
  // Unread input above which the connection stops reading (Output::set_reading(false))
  // until the coroutine has consumed it. Raised to max_line + 2 when that is larger, so a
  // whole line always fits.
  std::size_t input_bound = 64 * 1024;
  // Queued output above which write_all waits for Session::on_drain.
  std::size_t write_high_water = 64 * 1024;
};

class AsyncStream;

namespace detail {

class OutboundSession;

// One suspended await on a stream: what the stream resumes, and why.
struct StreamWaiter {
  StreamWaiter() = default;
  StreamWaiter(const StreamWaiter&) = delete;
  StreamWaiter& operator=(const StreamWaiter&) = delete;

  // For the pending read: whether what it waits for has come (data, a line, EOF).
  virtual bool ready() { return true; }
  // For the pending read: takes what it can of `bytes` straight into the caller's buffer
  // (one copy fewer than through the stream's input); returns how much it took.
  virtual std::size_t take_direct(std::string_view bytes) noexcept {
    (void)bytes;
    return 0;
  }

  AsyncStream* stream = nullptr;  // set while linked
  StreamWaiter* prev = nullptr;
  StreamWaiter* next = nullptr;
  std::coroutine_handle<> handle;
  TimerId timer = 0;       // a sleep's timer or a read's deadline, while pending
  bool cancelled = false;  // resumed because the connection closed
  bool timed_out = false;  // resumed because its timer fired
  bool writer = false;     // a write_all, woken by on_drain

 protected:
  virtual ~StreamWaiter();
};

}  // namespace detail

// Rules, kept by every awaitable below:
//   - Cancellation: once the connection has closed (Session::on_close: the peer went, the
//     idle timeout, the server draining), every pending await completes by throwing
//     sockit::Error with std::errc::operation_canceled, and every later await throws the
//     same at once. The coroutine unwinds; its frame is destroyed at the latest with the
//     Session.
//   - One read (read_some, read_line, read_exact) at a time per stream; writes, sleeps,
//     off-loop work and connects may be awaited by several coroutines at once.
//   - Use a stream only on its connection's own thread or loop.
//   - close_write() is the half-close (FIN, or close_notify over TLS); close() ends both
//     directions once what was written has been sent.
//   - g++ 12 miscompiles a temporary of aggregate or lambda type that owns memory (an
//     OutboundRequest{...}, a lambda capturing a std::string) when it is created inside a
//     co_await expression: it frees it twice. Name such an argument first:
//       auto work = [text] { return lookup(text); };
//       auto found = co_await stream.run_off_loop(std::move(work));
class AsyncStream {
 public:
  explicit AsyncStream(AsyncStreamOptions options = {});
  // An outbound stream closes its connection. Destroy a stream only when nothing awaits it.
  ~AsyncStream();
  AsyncStream(const AsyncStream&) = delete;
  AsyncStream& operator=(const AsyncStream&) = delete;

  // ---------------------------------------------------------------- awaitables

  // co_await: how many bytes were copied into `into` (at least 1), or 0 at end of input.
  class ReadSome;
  ReadSome read_some(std::span<char> into) noexcept;

  // co_await: false at end of input, else true with the next line in `line` (terminator
  // "\n" or "\r\n" stripped; a last line without one is still delivered). `line` keeps its
  // capacity, so a loop over one string allocates nothing. max 0: the stream's max_line.
  // Throws Error errc::line_too_long for a longer line and errc::timed_out when the
  // deadline passes first (through an Output timer). Lines over the rate limit are
  // answered "Rate limit exceeded" and skipped, as LineSession does.
  class ReadLineInto;
  ReadLineInto read_line(std::string& line, std::size_t max = 0, Deadline deadline = {}) noexcept;
  // The same, returning std::optional<std::string> (std::nullopt at end of input).
  class ReadLine;
  ReadLine read_line(std::size_t max = 0, Deadline deadline = {}) noexcept;

  // co_await: fills `into` entirely; throws Error errc::connection_closed when the input
  // ends first.
  class ReadExact;
  ReadExact read_exact(std::span<char> into) noexcept;

  // co_await: queues `bytes` (copied at once), then waits while more than
  // write_high_water bytes are queued, until the connection has drained.
  class WriteAll;
  WriteAll write_all(std::string_view bytes) noexcept;

  // co_await: resumes after `duration` (an Output timer).
  class Sleep;
  Sleep sleep_for(std::chrono::milliseconds duration) noexcept;
  Sleep sleep_until(Clock::time_point when) noexcept;

  // co_await: runs fn() on the server's worker pool and returns what it returned (or
  // rethrows what it threw) on this connection's thread. Throws Error
  // std::errc::resource_unavailable_try_again when the pool's queue is full.
  template <class F>
  class OffLoop;
  template <class F>
  OffLoop<std::decay_t<F>> run_off_loop(F&& fn) {
    return OffLoop<std::decay_t<F>>(*this, std::forward<F>(fn));
  }

  // co_await: a std::unique_ptr<AsyncStream> for a new outbound connection (Output::connect),
  // driven on this connection's thread or loop. Throws Error with the reason's code when it
  // cannot be opened. It lives until it is closed, destroyed, or this connection closes.
  // `wrap`, when set, decorates the outbound connection's session before it is opened
  // (TLS origination: a sockit::tls_client_session around it); the stream then reads and
  // writes what the decorator carries.
  using SessionWrapper = std::function<std::unique_ptr<Session>(std::unique_ptr<Session>)>;
  class Connect;
  Connect connect(const OutboundRequest& request, SessionWrapper wrap = {});

  // Closes the connection once what was written has been sent.
  void close() noexcept;
  // Half-close: sends our EOF once what was written has been sent; reads go on until the
  // peer's EOF. Later writes are dropped.
  void close_write() noexcept;
  // The connection is open: open() has run and connection_closed() has not.
  bool is_open() const noexcept { return out_ != nullptr; }
  // on_close has run: every await throws operation_canceled.
  bool is_closed() const noexcept { return closed_; }
  // Bytes received and not yet read.
  std::size_t buffered() const noexcept { return input_.size() - start_; }
  const AsyncStreamOptions& options() const noexcept { return options_; }
  // The connection's Output while it is open, else nullptr: for what the awaitables do
  // not cover (Output::peer(), queued()).
  Output* output() noexcept { return out_; }

  // ---------------------------------------------------------------- fed by the Session

  void open(Output& out);             // Session::on_open
  void feed(std::string_view bytes);  // on_data
  void feed_eof();                    // on_eof (the stream does not close: the coroutine decides)
  void timer_fired(TimerId id);       // on_timer
  void drained();                     // on_drain
  void connect_failed(const std::error_code& error, std::string_view reason);
  void connection_closed() noexcept;  // on_close

 private:
  friend struct detail::StreamWaiter;
  friend class detail::OutboundSession;

  enum class LineStatus { need_more, line, end, too_long };
  LineStatus scan_line(std::string& line, std::size_t max);
  std::size_t take(std::span<char> into) noexcept;
  void consume(std::size_t count) noexcept;

  void link(detail::StreamWaiter& waiter, std::coroutine_handle<> awaiting) noexcept;
  void unlink(detail::StreamWaiter& waiter) noexcept;
  // Unlinks and resumes; false when the resumed code destroyed this stream.
  bool wake(detail::StreamWaiter& waiter);
  void start_read(detail::StreamWaiter& waiter, std::coroutine_handle<> handle,
                  const Deadline& deadline);
  TimerId start_timer(std::chrono::milliseconds after);

  [[noreturn]] static void throw_canceled(const char* operation);

  AsyncStreamOptions options_;
  TokenBucket bucket_;
  Output* out_ = nullptr;
  bool closed_ = false;
  bool eof_ = false;
  bool reading_ = true;
  std::string input_;
  std::size_t start_ = 0;    // input_[0, start_) has been read
  std::size_t scanned_ = 0;  // unread bytes known to hold no '\n'
  detail::StreamWaiter* reader_ = nullptr;
  detail::StreamWaiter* first_ = nullptr;  // every linked waiter, the reader included
  detail::StreamWaiter* last_ = nullptr;
  bool* destroyed_ = nullptr;  // set while waking, so a resumed destroyer is noticed
  detail::OutboundSession* outbound_ = nullptr;  // for outbound streams, while connected
  detail::StreamWaiter* connecting_ = nullptr;   // the Connect awaiting this (outbound) stream
  std::error_code connect_error_;
  std::string connect_reason_;
};

// ---------------------------------------------------------------- the awaiters

class AsyncStream::ReadSome final : public detail::StreamWaiter {
 public:
  ReadSome(AsyncStream& owner, std::span<char> into) noexcept : owner_(&owner), into_(into) {}
  bool await_ready() const noexcept { return owner_->closed_ || into_.empty() || ready_now(); }
  void await_suspend(std::coroutine_handle<> awaiting) { owner_->start_read(*this, awaiting, {}); }
  std::size_t await_resume();
  bool ready() override { return ready_now(); }
  std::size_t take_direct(std::string_view bytes) noexcept override;

 private:
  bool ready_now() const noexcept { return owner_->buffered() > 0 || owner_->eof_; }
  AsyncStream* owner_;
  std::span<char> into_;
  std::size_t direct_ = 0;  // bytes take_direct put in into_
};

class AsyncStream::ReadLineInto : public detail::StreamWaiter {
 public:
  ReadLineInto(AsyncStream& owner, std::string& line, std::size_t max, Deadline deadline) noexcept
      : owner_(&owner), line_(&line), max_(max), deadline_(deadline) {}
  bool await_ready() { return owner_->closed_ || ready(); }
  void await_suspend(std::coroutine_handle<> awaiting) {
    owner_->start_read(*this, awaiting, deadline_);
  }
  bool await_resume();
  bool ready() override;

 protected:
  ReadLineInto(AsyncStream& owner, std::size_t max, Deadline deadline) noexcept
      : owner_(&owner), line_(nullptr), max_(max), deadline_(deadline) {}
  void set_target(std::string& line) noexcept { line_ = &line; }

 private:
  AsyncStream* owner_;
  std::string* line_;
  std::size_t max_;
  Deadline deadline_;
  LineStatus status_ = LineStatus::need_more;
};

class AsyncStream::ReadLine final : public AsyncStream::ReadLineInto {
 public:
  ReadLine(AsyncStream& owner, std::size_t max, Deadline deadline) noexcept
      : ReadLineInto(owner, max, deadline) {
    set_target(value_);
  }
  ReadLine(const ReadLine&) = delete;
  std::optional<std::string> await_resume() {
    if (!ReadLineInto::await_resume()) return std::nullopt;
    return std::move(value_);
  }

 private:
  std::string value_;
};

class AsyncStream::ReadExact final : public detail::StreamWaiter {
 public:
  ReadExact(AsyncStream& owner, std::span<char> into) noexcept : owner_(&owner), into_(into) {}
  bool await_ready() { return owner_->closed_ || ready(); }
  void await_suspend(std::coroutine_handle<> awaiting) { owner_->start_read(*this, awaiting, {}); }
  void await_resume();
  bool ready() override;

 private:
  AsyncStream* owner_;
  std::span<char> into_;
  std::size_t filled_ = 0;
};

class AsyncStream::WriteAll final : public detail::StreamWaiter {
 public:
  WriteAll(AsyncStream& owner, std::string_view bytes) noexcept : owner_(&owner), bytes_(bytes) {
    writer = true;
  }
  bool await_ready();
  void await_suspend(std::coroutine_handle<> awaiting) noexcept { owner_->link(*this, awaiting); }
  void await_resume();

 private:
  AsyncStream* owner_;
  std::string_view bytes_;
  bool refused_ = false;  // the connection was closed before the write
};

class AsyncStream::Sleep final : public detail::StreamWaiter {
 public:
  Sleep(AsyncStream& owner, std::chrono::milliseconds duration) noexcept
      : owner_(&owner), duration_(duration) {}
  bool await_ready() const noexcept { return owner_->closed_ || duration_.count() <= 0; }
  void await_suspend(std::coroutine_handle<> awaiting);
  void await_resume();

 private:
  AsyncStream* owner_;
  std::chrono::milliseconds duration_;
};

template <class F>
class AsyncStream::OffLoop final : public detail::StreamWaiter {
  using Result = std::invoke_result_t<F&>;
  using Value = std::conditional_t<std::is_void_v<Result>, std::monostate, Result>;

  // Shared with the pool: the worker writes fn/value/error, the connection's thread reads
  // them after the continuation has been handed back, and alone touches `waiter`.
  struct State {
    explicit State(F&& body) : fn(std::move(body)) {}
    F fn;
    std::optional<Value> value;
    std::exception_ptr error;
    OffLoop* waiter = nullptr;
  };

 public:
  OffLoop(AsyncStream& owner, F fn) : owner_(&owner), fn_(std::move(fn)) {}
  OffLoop(const OffLoop&) = delete;
  ~OffLoop() override {
    if (state_) state_->waiter = nullptr;
  }
  bool await_ready() const noexcept { return owner_->closed_ || owner_->out_ == nullptr; }
  bool await_suspend(std::coroutine_handle<> awaiting) {
    state_ = std::make_shared<State>(std::move(fn_));
    state_->waiter = this;
    OffLoopWork work = [state = state_]() -> Continuation {
      try {
        if constexpr (std::is_void_v<Result>) {
          state->fn();
          state->value.emplace();
        } else {
          state->value.emplace(state->fn());
        }
      } catch (...) {
        state->error = std::current_exception();
      }
      return [state](Output&) {
        if (OffLoop* waiter = state->waiter; waiter != nullptr && waiter->stream != nullptr) {
          waiter->stream->wake(*waiter);
        }
      };
    };
    owner_->link(*this, awaiting);
    if (!owner_->out_->run_off_loop(std::move(work))) {
      owner_->unlink(*this);
      state_->waiter = nullptr;
      busy_ = true;
      return false;
    }
    return true;
  }
  Result await_resume() {
    if (busy_) {
      throw Error(std::make_error_code(std::errc::resource_unavailable_try_again), "run_off_loop",
                  {}, "the worker pool is busy");
    }
    if (cancelled || !state_) throw_canceled("run_off_loop");
    if (state_->error) std::rethrow_exception(state_->error);
    if constexpr (!std::is_void_v<Result>) return std::move(*state_->value);
  }

 private:
  AsyncStream* owner_;
  F fn_;
  std::shared_ptr<State> state_;
  bool busy_ = false;
};

class AsyncStream::Connect final : public detail::StreamWaiter {
 public:
  Connect(AsyncStream& origin, const OutboundRequest& request, SessionWrapper wrap)
      : origin_(&origin), request_(request), wrap_(std::move(wrap)) {}
  Connect(const Connect&) = delete;
  ~Connect() override;
  bool await_ready() const noexcept { return origin_->closed_ || origin_->out_ == nullptr; }
  bool await_suspend(std::coroutine_handle<> awaiting);
  std::unique_ptr<AsyncStream> await_resume();

 private:
  friend class AsyncStream;
  AsyncStream* origin_;
  OutboundRequest request_;
  SessionWrapper wrap_;
  std::unique_ptr<AsyncStream> opened_;
  bool suspended_ = false;
  bool finished_ = false;
};

}  // namespace sockit::server
