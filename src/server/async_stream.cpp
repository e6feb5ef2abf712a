// AsyncStream: the awaitables over one connection (see sockit/server/async_stream.hpp).
#include "sockit/server/async_stream.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sockit::server {

namespace detail {

StreamWaiter::~StreamWaiter() {
  if (stream != nullptr) stream->unlink(*this);
}

// Backs an outbound AsyncStream: the Output::connect session, alive as long as the
// connection. The stream and this session forget each other when either goes first.
class OutboundSession final : public Session {
 public:
  explicit OutboundSession(AsyncStream& stream) noexcept : stream_(&stream) {
    stream.outbound_ = this;
  }
  ~OutboundSession() override { detach(); }
  OutboundSession(const OutboundSession&) = delete;
  OutboundSession& operator=(const OutboundSession&) = delete;

  void on_open(Output& out) override {
    if (stream_ != nullptr) {
      stream_->open(out);
    } else {
      out.close();
    }
  }
  void on_data(std::string_view bytes, Output& out) override {
    if (stream_ != nullptr) {
      stream_->feed(bytes);
    } else {
      out.close();
    }
  }
  void on_eof(Output& out) override {
    if (stream_ != nullptr) {
      stream_->feed_eof();
    } else {
      out.close();
    }
  }
  void on_timer(TimerId id, Output&) override {
    if (stream_ != nullptr) stream_->timer_fired(id);
  }
  void on_drain(Output&) override {
    if (stream_ != nullptr) stream_->drained();
  }
  void on_connect_failed(const std::error_code& error, std::string_view reason) override {
    if (stream_ != nullptr) stream_->connect_failed(error, reason);
  }
  void on_close() override {
    AsyncStream* stream = stream_;
    detach();
    // Last: what it resumes may destroy the stream.
    if (stream != nullptr) stream->connection_closed();
  }

  // The stream is going: the connection is closed by the stream itself.
  void forget() noexcept { stream_ = nullptr; }

 private:
  void detach() noexcept {
    if (stream_ != nullptr) stream_->outbound_ = nullptr;
    stream_ = nullptr;
  }

  AsyncStream* stream_;
};

}  // namespace detail

namespace {

std::size_t effective_bound(const AsyncStreamOptions& options) {
  return std::max(options.input_bound, options.max_line + 2);
}

}  // namespace

AsyncStream::AsyncStream(AsyncStreamOptions options)
    : options_(options), bucket_(options.rate_per_second) {
  if (options_.max_line == 0) options_.max_line = default_max_line;
  options_.input_bound = effective_bound(options_);
}

AsyncStream::~AsyncStream() {
  if (destroyed_ != nullptr) *destroyed_ = true;
  // Waiters still linked belong to frames that will be destroyed later; they must not
  // reach back into this stream.
  for (detail::StreamWaiter* w = first_; w != nullptr; w = w->next)
    w->stream = nullptr;
  first_ = last_ = reader_ = nullptr;
  if (connecting_ != nullptr) connecting_->stream = nullptr;
  if (outbound_ != nullptr) {
    outbound_->forget();
    outbound_ = nullptr;
    if (out_ != nullptr && !out_->closing()) out_->close();
  }
}

[[noreturn]] void AsyncStream::throw_canceled(const char* operation) {
  throw Error(std::make_error_code(std::errc::operation_canceled), operation, {},
              "the connection was closed");
}

// ---------------------------------------------------------------- waiter bookkeeping

void AsyncStream::link(detail::StreamWaiter& waiter, std::coroutine_handle<> handle) noexcept {
  waiter.handle = handle;
  waiter.stream = this;
  waiter.prev = last_;
  waiter.next = nullptr;
  if (last_ != nullptr) {
    last_->next = &waiter;
  } else {
    first_ = &waiter;
  }
  last_ = &waiter;
}

void AsyncStream::unlink(detail::StreamWaiter& waiter) noexcept {
  if (waiter.stream != this) return;
  if (waiter.prev != nullptr) {
    waiter.prev->next = waiter.next;
  } else {
    first_ = waiter.next;
  }
  if (waiter.next != nullptr) {
    waiter.next->prev = waiter.prev;
  } else {
    last_ = waiter.prev;
  }
  waiter.prev = waiter.next = nullptr;
  waiter.stream = nullptr;
  if (reader_ == &waiter) reader_ = nullptr;
  if (waiter.timer != 0) {
    if (out_ != nullptr) out_->cancel_timer(waiter.timer);
    waiter.timer = 0;
  }
}

bool AsyncStream::wake(detail::StreamWaiter& waiter) {
  unlink(waiter);
  bool destroyed = false;
  bool* outer = std::exchange(destroyed_, &destroyed);
  waiter.handle.resume();
  if (destroyed) {
    if (outer != nullptr) *outer = true;
    return false;
  }
  destroyed_ = outer;
  return true;
}

TimerId AsyncStream::start_timer(std::chrono::milliseconds after) {
  return out_->start_timer(std::max(after, std::chrono::milliseconds{0}));
}

void AsyncStream::start_read(detail::StreamWaiter& waiter, std::coroutine_handle<> handle,
                             const Deadline& deadline) {
  if (reader_ != nullptr) {
    throw std::invalid_argument("AsyncStream: a second read while one is pending");
  }
  if (out_ == nullptr) throw_canceled("read");
  // Start the timer first: if it throws, nothing is linked.
  TimerId timer = 0;
  if (auto left = deadline.remaining()) timer = start_timer(*left);
  link(waiter, handle);
  waiter.timer = timer;
  reader_ = &waiter;
}

// ---------------------------------------------------------------- the input buffer

void AsyncStream::consume(std::size_t count) noexcept {
  start_ += count;
  scanned_ = scanned_ > count ? scanned_ - count : 0;
  if (start_ == input_.size()) {
    input_.clear();
    start_ = 0;
  }
  if (!reading_ && out_ != nullptr && buffered() <= options_.input_bound) {
    reading_ = true;
    out_->set_reading(true);
  }
}

std::size_t AsyncStream::take(std::span<char> into) noexcept {
  std::size_t n = std::min(into.size(), buffered());
  if (n > 0) std::memcpy(into.data(), input_.data() + start_, n);
  consume(n);
  return n;
}

AsyncStream::LineStatus AsyncStream::scan_line(std::string& line, std::size_t max) {
  if (max == 0) max = options_.max_line;
  for (;;) {
    std::string_view data(input_.data() + start_, buffered());
    std::size_t newline = data.find('\n', scanned_);
    std::size_t length = 0;
    std::size_t used = 0;
    if (newline == std::string_view::npos) {
      scanned_ = data.size();
      // A "\r" may still precede the "\n" to come.
      if (data.size() > max + 1) return LineStatus::too_long;
      if (!eof_) return LineStatus::need_more;
      if (data.empty()) return LineStatus::end;
      length = used = data.size();
    } else {
      length = newline;
      used = newline + 1;
    }
    if (length > 0 && data[length - 1] == '\r') --length;
    if (length > max) return LineStatus::too_long;
    if (bucket_.enabled() && !bucket_.try_take()) {
      consume(used);
      if (out_ != nullptr && !out_->closing()) out_->write("Rate limit exceeded\n");
      continue;
    }
    line.assign(data.data(), length);
    consume(used);
    return LineStatus::line;
  }
}

// ---------------------------------------------------------------- fed by the Session

void AsyncStream::open(Output& out) {
  out_ = &out;
  if (connecting_ != nullptr) {
    auto* waiter = static_cast<Connect*>(connecting_);
    connecting_ = nullptr;
    waiter->finished_ = true;
    if (waiter->suspended_) {
      bool destroyed = false;
      bool* outer = std::exchange(destroyed_, &destroyed);
      waiter->handle.resume();
      if (destroyed) {
        if (outer != nullptr) *outer = true;
        return;
      }
      destroyed_ = outer;
    }
  }
}

void AsyncStream::feed(std::string_view bytes) {
  if (closed_ || bytes.empty()) return;
  // A read waiting on an empty stream gets the bytes in its own buffer at once.
  detail::StreamWaiter* direct = nullptr;
  if (reader_ != nullptr && buffered() == 0) {
    const std::size_t n = reader_->take_direct(bytes);
    if (n > 0) {
      bytes.remove_prefix(n);
      direct = reader_;
    }
  }
  if (!bytes.empty()) {
    if (start_ > 0 && start_ >= input_.size() / 2) {
      input_.erase(0, start_);
      start_ = 0;
    }
    input_.append(bytes);
    if (reading_ && out_ != nullptr && buffered() > options_.input_bound) {
      reading_ = false;
      out_->set_reading(false);
    }
  }
  if (direct != nullptr) {
    wake(*direct);
  } else if (reader_ != nullptr && reader_->ready()) {
    wake(*reader_);
  }
}

void AsyncStream::feed_eof() {
  if (closed_) return;
  eof_ = true;
  if (reader_ != nullptr && reader_->ready()) wake(*reader_);
}

void AsyncStream::timer_fired(TimerId id) {
  for (detail::StreamWaiter* w = first_; w != nullptr; w = w->next) {
    if (w->timer == id) {
      w->timer = 0;  // fired: nothing to cancel
      w->timed_out = true;
      wake(*w);
      return;
    }
  }
}

void AsyncStream::drained() {
  // Wake the writers one at a time: each may destroy the stream or other writers.
  for (;;) {
    detail::StreamWaiter* writer = nullptr;
    for (detail::StreamWaiter* w = first_; w != nullptr; w = w->next) {
      if (w->writer) {
        writer = w;
        break;
      }
    }
    if (writer == nullptr || !wake(*writer)) return;
  }
}

void AsyncStream::connect_failed(const std::error_code& error, std::string_view reason) {
  connect_error_ = error;
  connect_reason_.assign(reason);
}

void AsyncStream::connection_closed() noexcept {
  if (closed_) return;
  closed_ = true;
  out_ = nullptr;  // no longer ours to use; pending timers die with the connection
  for (detail::StreamWaiter* w = first_; w != nullptr; w = w->next)
    w->timer = 0;
  bool destroyed = false;
  bool* outer = std::exchange(destroyed_, &destroyed);
  if (connecting_ != nullptr) {
    auto* waiter = static_cast<Connect*>(connecting_);
    connecting_ = nullptr;
    waiter->finished_ = true;
    if (waiter->suspended_) waiter->handle.resume();
  }
  while (!destroyed && first_ != nullptr) {
    detail::StreamWaiter& w = *first_;
    unlink(w);
    w.cancelled = true;
    w.handle.resume();
  }
  if (destroyed) {
    if (outer != nullptr) *outer = true;
    return;
  }
  destroyed_ = outer;
}

void AsyncStream::close() noexcept {
  if (out_ != nullptr && !out_->closing()) out_->close();
}

void AsyncStream::close_write() noexcept {
  if (out_ != nullptr && !out_->closing()) out_->close_write();
}

// ---------------------------------------------------------------- awaitables

AsyncStream::ReadSome AsyncStream::read_some(std::span<char> into) noexcept {
  return ReadSome(*this, into);
}
AsyncStream::ReadLineInto AsyncStream::read_line(std::string& line, std::size_t max,
                                                 Deadline deadline) noexcept {
  return ReadLineInto(*this, line, max, deadline);
}
AsyncStream::ReadLine AsyncStream::read_line(std::size_t max, Deadline deadline) noexcept {
  return ReadLine(*this, max, deadline);
}
AsyncStream::ReadExact AsyncStream::read_exact(std::span<char> into) noexcept {
  return ReadExact(*this, into);
}
AsyncStream::WriteAll AsyncStream::write_all(std::string_view bytes) noexcept {
  return WriteAll(*this, bytes);
}
AsyncStream::Sleep AsyncStream::sleep_for(std::chrono::milliseconds duration) noexcept {
  return Sleep(*this, duration);
}
AsyncStream::Sleep AsyncStream::sleep_until(Clock::time_point when) noexcept {
  return Sleep(*this, std::chrono::ceil<std::chrono::milliseconds>(when - Clock::now()));
}
AsyncStream::Connect AsyncStream::connect(const OutboundRequest& request, SessionWrapper wrap) {
  return Connect(*this, request, std::move(wrap));
}

std::size_t AsyncStream::ReadSome::take_direct(std::string_view bytes) noexcept {
  direct_ = std::min(into_.size(), bytes.size());
  std::memcpy(into_.data(), bytes.data(), direct_);
  return direct_;
}

std::size_t AsyncStream::ReadSome::await_resume() {
  if (direct_ > 0) return std::exchange(direct_, 0);
  if (cancelled || owner_->closed_) throw_canceled("read_some");
  return owner_->take(into_);
}

bool AsyncStream::ReadLineInto::ready() {
  status_ = owner_->scan_line(*line_, max_);
  return status_ != LineStatus::need_more;
}

bool AsyncStream::ReadLineInto::await_resume() {
  if (cancelled || (owner_->closed_ && status_ == LineStatus::need_more)) {
    throw_canceled("read_line");
  }
  switch (status_) {
    case LineStatus::line:
      return true;
    case LineStatus::end:
      return false;
    case LineStatus::too_long:
      throw_error(errc::line_too_long, "read_line", {},
                  "line longer than " +
                      std::to_string(max_ != 0 ? max_ : owner_->options_.max_line) + " bytes");
    case LineStatus::need_more:
      break;
  }
  throw_error(errc::timed_out, "read_line", {}, "no line before the deadline");
}

bool AsyncStream::ReadExact::ready() {
  filled_ += owner_->take(into_.subspan(filled_));
  return filled_ == into_.size() || owner_->eof_;
}

void AsyncStream::ReadExact::await_resume() {
  if (cancelled || (owner_->closed_ && filled_ < into_.size())) throw_canceled("read_exact");
  if (filled_ < into_.size()) {
    if (timed_out) throw_error(errc::timed_out, "read_exact", {});
    throw_error(errc::connection_closed, "read_exact", {},
                "the input ended after " + std::to_string(filled_) + " of " +
                    std::to_string(into_.size()) + " bytes");
  }
}

bool AsyncStream::WriteAll::await_ready() {
  if (owner_->out_ == nullptr || owner_->out_->closing()) {
    refused_ = true;
    return true;
  }
  owner_->out_->write(bytes_);
  return owner_->out_->queued() <= owner_->options_.write_high_water;
}

void AsyncStream::WriteAll::await_resume() {
  if (refused_ || cancelled) throw_canceled("write_all");
}

void AsyncStream::Sleep::await_suspend(std::coroutine_handle<> awaiting) {
  if (owner_->out_ == nullptr) throw_canceled("sleep");
  TimerId started = owner_->start_timer(duration_);
  owner_->link(*this, awaiting);
  timer = started;
}

void AsyncStream::Sleep::await_resume() {
  if (cancelled || (owner_->closed_ && !timed_out)) throw_canceled("sleep");
}

AsyncStream::Connect::~Connect() {
  if (opened_ && opened_->connecting_ == this) opened_->connecting_ = nullptr;
}

bool AsyncStream::Connect::await_suspend(std::coroutine_handle<> awaiting) {
  handle = awaiting;
  opened_ = std::make_unique<AsyncStream>(origin_->options_);
  std::unique_ptr<Session> session = std::make_unique<detail::OutboundSession>(*opened_);
  opened_->connecting_ = this;
  if (wrap_) session = wrap_(std::move(session));
  origin_->out_->connect(request_, std::move(session));
  // Output::connect may report a failure before it returns: then do not suspend.
  suspended_ = !finished_;
  return suspended_;
}

std::unique_ptr<AsyncStream> AsyncStream::Connect::await_resume() {
  std::string target = request_.host + ":" + request_.port;
  if (!opened_) throw_canceled("connect");
  if (opened_->connect_error_) {
    throw Error(opened_->connect_error_, "connect", target, opened_->connect_reason_);
  }
  if (!opened_->is_open()) throw_canceled("connect");
  return std::move(opened_);
}

}  // namespace sockit::server
