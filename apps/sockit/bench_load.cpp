// The load generator of `sockit bench` (see bench_load.hpp). One thread, one Poller; the
// hot path is one read and one write per message and allocates nothing: output buffers and
// in-flight rings are sized once per connection.
#include "bench_load.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "cli_support.hpp"
#include "sockit/error.hpp"
#include "sockit/options.hpp"
#include "sockit/poller.hpp"
#include "sockit/socket.hpp"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace sockit::cli::bench {

std::string_view to_string(LoadMode mode) noexcept {
  switch (mode) {
    case LoadMode::pingpong:
      return "pingpong";
    case LoadMode::churn:
      return "churn";
    case LoadMode::idle:
      return "idle";
  }
  return "?";
}

// ---- histogram -------------------------------------------------------------------------

std::size_t LatencyHistogram::bucket_of(std::uint64_t value) noexcept {
  if (value < 128) return static_cast<std::size_t>(value);
  const int msb = 63 - std::countl_zero(value);
  const int shift = msb - 6;  // value >> shift lies in [64, 127]
  return static_cast<std::size_t>(shift + 1) * 64 + static_cast<std::size_t>((value >> shift) - 64);
}

std::uint64_t LatencyHistogram::bucket_low(std::size_t bucket) noexcept {
  if (bucket < 128) return bucket;
  const std::size_t shift = bucket / 64 - 1;
  return (std::uint64_t{bucket % 64} + 64) << shift;
}

void LatencyHistogram::record(std::uint64_t nanoseconds) noexcept {
  ++counts_[std::min(bucket_of(nanoseconds), kBuckets - 1)];
  ++count_;
  max_ = std::max(max_, nanoseconds);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t LatencyHistogram::percentile(double quantile) const noexcept {
  if (count_ == 0) return 0;
  const double wanted = std::clamp(quantile, 0.0, 1.0) * static_cast<double>(count_);
  auto rank = static_cast<std::uint64_t>(wanted);
  if (static_cast<double>(rank) < wanted) ++rank;
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The middle of the bucket, never above the largest sample.
      const std::uint64_t low = bucket_low(i);
      const std::uint64_t high = i + 1 < kBuckets ? bucket_low(i + 1) : low;
      return std::min(low + (high - low) / 2, max_);
    }
  }
  return max_;
}

// ---- the load --------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

// The bytes of message `seq` (a run-wide sequence number, so an echo that belongs to another
// connection or an earlier message cannot pass): a 17-byte hexadecimal tag, then letters
// from a pattern whose phase depends on seq, then a newline.
constexpr std::size_t kTagSize = 17;
constexpr std::size_t kPeriod = 61;
constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::size_t kMaxConnecting = 256;  // connects in flight at once

class Pattern {
 public:
  explicit Pattern(std::size_t longest) : letters_(longest + kPeriod, '\0') {
    for (std::size_t i = 0; i < letters_.size(); ++i)
      letters_[i] = static_cast<char>('a' + (i % kPeriod) % 26);
  }

  static void tag(std::uint64_t seq, char* out) noexcept {
    static constexpr char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out[i] = digits[seq & 0xf];
      seq >>= 4;
    }
    out[16] = ':';
  }

  // Appends message `seq` of `size` bytes to `out`.
  void append(std::string& out, std::uint64_t seq, std::size_t size) const {
    const std::size_t body = size - 1;
    char header[kTagSize];
    tag(seq, header);
    const std::size_t tagged = std::min(kTagSize, body);
    out.append(header, tagged);
    if (body > tagged) out.append(letters_.data() + (tagged + seq) % kPeriod, body - tagged);
    out.push_back('\n');
  }

  // True when `bytes` equal message `seq` from byte `offset` on.
  bool matches(std::uint64_t seq, std::size_t size, std::size_t offset,
               std::string_view bytes) const noexcept {
    const std::size_t body = size - 1;
    const std::size_t tagged = std::min(kTagSize, body);
    std::size_t at = offset;
    std::size_t i = 0;
    if (at < tagged) {
      char header[kTagSize];
      tag(seq, header);
      const std::size_t n = std::min(tagged - at, bytes.size());
      if (std::memcmp(header + at, bytes.data(), n) != 0) return false;
      at += n;
      i += n;
    }
    if (i < bytes.size() && at < body) {
      const std::size_t n = std::min(body - at, bytes.size() - i);
      if (std::memcmp(letters_.data() + (at + seq) % kPeriod, bytes.data() + i, n) != 0)
        return false;
      at += n;
      i += n;
    }
    if (i < bytes.size()) {
      if (at != body || bytes[i] != '\n') return false;
      ++i;
    }
    return i == bytes.size();
  }

 private:
  std::string letters_;
};

enum class State { waiting, connecting, open, held };

struct InFlight {
  std::uint64_t seq = 0;
  Clock::time_point sent{};
};

struct Connection {
  Socket socket;
  State state = State::waiting;
  std::uint32_t generation = 0;
  std::string out;  // bytes not yet taken by the socket, from out_at on
  std::size_t out_at = 0;
  bool watching_out = false;
  std::vector<InFlight> ring;  // messages sent and not yet fully echoed, oldest at head
  std::size_t head = 0;
  std::size_t in_flight = 0;
  std::size_t got = 0;  // bytes of the oldest message echoed so far
  Clock::time_point started{};
  Clock::time_point progress{};
  Clock::time_point retry_at{};
};

class Load {
 public:
  explicit Load(const LoadOptions& o)
      : o_(o),
        pattern_(std::max<std::size_t>(o.size, kReadSize)),
        conns_(o.conns),
        buffer_(new char[kReadSize]) {
    const std::size_t depth = o_.mode == LoadMode::pingpong ? o_.pipeline : 1;
    for (auto& c : conns_) {
      c.ring.resize(depth);
      c.out.reserve(depth * o_.size);
    }
  }

  LoadResult run() {
    const auto begin = Clock::now();
    now_ = begin;
    if (o_.mode == LoadMode::idle) return run_idle(begin);
    const auto measure_from = begin + o_.warmup;
    const auto end = measure_from + o_.duration;
    measuring_ = o_.warmup.count() <= 0;
    while (now_ < end) {
      fill_connects();
      step(10);
      if (!measuring_ && now_ >= measure_from) {
        measuring_ = true;
        result_.messages = result_.bytes = 0;
        result_.latency = LatencyHistogram{};
      }
    }
    result_.seconds = std::chrono::duration<double>(o_.duration).count();
    close_all();
    return std::move(result_);
  }

 private:
  LoadResult run_idle(Clock::time_point begin) {
    measuring_ = true;
    // Opening is bounded too: the hold starts when all are verified or the time is up.
    const auto open_deadline = begin + o_.timeout + std::chrono::milliseconds(o_.conns);
    while (held_ < conns_.size() && now_ < open_deadline) {
      fill_connects();
      step(10);
    }
    result_.held = held_;
    if (o_.on_idle_ready) o_.on_idle_ready();
    const auto end = Clock::now() + o_.duration;
    idle_hold_ = true;
    while (now_ < end)
      step(50);
    result_.held = held_;
    result_.seconds = std::chrono::duration<double>(o_.duration).count();
    close_all();
    return std::move(result_);
  }

  static std::uint64_t token(std::size_t index, std::uint32_t generation) noexcept {
    return (std::uint64_t{generation} << 32) | index;
  }

  void step(int timeout_ms) {
    const std::size_t count = poller_.wait(events_, timeout_ms);
    now_ = Clock::now();
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t index = events_[i].token & 0xffffffffu;
      const auto generation = static_cast<std::uint32_t>(events_[i].token >> 32);
      if (index >= conns_.size() || conns_[index].generation != generation) continue;
      on_event(index, events_[i]);
    }
    if (now_ - last_sweep_ >= std::chrono::milliseconds(100)) sweep();
  }

  // Starts connects for waiting connections, at most kMaxConnecting at a time (a burst of
  // thousands would overflow the server's backlog and measure SYN retransmits instead).
  void fill_connects() {
    if (idle_hold_) return;
    for (std::size_t scanned = 0; scanned < conns_.size() && connecting_ < kMaxConnecting;
         ++scanned) {
      const std::size_t index = next_start_;
      next_start_ = (next_start_ + 1) % conns_.size();
      Connection& c = conns_[index];
      if (c.state == State::waiting && now_ >= c.retry_at) start(index);
    }
  }

  void start(std::size_t index) {
    Connection& c = conns_[index];
    ++c.generation;
    c.out.clear();
    c.out_at = 0;
    c.head = c.in_flight = c.got = 0;
    c.watching_out = false;
    c.started = c.progress = now_;
    try {
      c.socket = Socket(o_.server.family(), SOCK_STREAM);
    } catch (const Error& e) {
      if (e.code() == std::errc::too_many_files_open ||
          e.code() == std::errc::too_many_files_open_in_system) {
        failure("bench: out of file descriptors at " + std::to_string(index) +
                " connections: raise the limit (ulimit -n) or lower --conns");
      }
      throw;
    }
    try {
      if (o_.server.is_ip()) c.socket.set(option::NoDelay{true});
      if (o_.sources > 0 && o_.server.is_ipv4()) {
        const int one = 1;
        c.socket.set_option_raw(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        const unsigned host = 2 + next_source_++ % o_.sources;  // sources <= 250
        c.socket.bind(Address::parse("127.0.0." + std::to_string(host)));
      }
      const ConnectStatus status = c.socket.connect_nonblock(o_.server);
      poller_.add(c.socket.fd(),
                  status == ConnectStatus::connected ? Interest::readable : Interest::writable,
                  token(index, c.generation));
      if (status == ConnectStatus::connected) {
        on_connected(index);
      } else {
        c.state = State::connecting;
        ++connecting_;
      }
    } catch (const Error&) {
      // Refused now (or the source address was unusable): counted, retried shortly.
      fail(index, result_.errors.connect);
    }
  }

  void on_connected(std::size_t index) {
    Connection& c = conns_[index];
    c.state = State::open;
    c.progress = now_;
    const std::size_t depth = c.ring.size();
    for (std::size_t i = 0; i < depth; ++i)
      queue_message(c);
    flush(index);
  }

  void queue_message(Connection& c) {
    const std::uint64_t seq = ++next_seq_;
    if (c.out_at == c.out.size()) {
      c.out.clear();
      c.out_at = 0;
    }
    pattern_.append(c.out, seq, o_.size);
    c.ring[(c.head + c.in_flight) % c.ring.size()] = {seq, now_};
    ++c.in_flight;
  }

  void flush(std::size_t index) {
    Connection& c = conns_[index];
    while (c.out_at < c.out.size()) {
      IoResult r;
      try {
        r = c.socket.write_nonblock(std::string_view(c.out).substr(c.out_at));
      } catch (const Error& e) {
        fail(index, classify(e));
        return;
      }
      if (!r.ok()) break;
      c.out_at += r.bytes;
    }
    const bool backed_up = c.out_at < c.out.size();
    if (backed_up != c.watching_out) {
      c.watching_out = backed_up;
      poller_.modify(c.socket.fd(),
                     backed_up ? Interest::readable | Interest::writable : Interest::readable,
                     token(index, c.generation));
    }
  }

  void on_event(std::size_t index, const PollEvent& event) {
    Connection& c = conns_[index];
    const std::uint32_t generation = c.generation;
    if (c.state == State::connecting) {
      if (!event.is_writable()) return;
      --connecting_;
      c.state = State::open;
      if (c.socket.finish_connect()) {
        fail(index, result_.errors.connect);
        return;
      }
      poller_.modify(c.socket.fd(), Interest::readable, token(index, generation));
      on_connected(index);
      return;
    }
    if (c.watching_out && event.is_writable()) {
      flush(index);
      if (c.generation != generation) return;
    }
    if (event.is_readable()) on_readable(index);
  }

  void on_readable(std::size_t index) {
    Connection& c = conns_[index];
    IoResult r;
    try {
      r = c.socket.read_nonblock({buffer_.get(), kReadSize});
    } catch (const Error& e) {
      fail(index, classify(e));
      return;
    }
    if (r.would_block()) return;
    if (r.eof()) {
      fail(index, result_.errors.eof);
      return;
    }
    c.progress = now_;
    std::string_view bytes(buffer_.get(), r.bytes);
    const std::uint32_t generation = c.generation;
    while (!bytes.empty()) {
      if (c.in_flight == 0) {
        // An echo of something never sent.
        fail(index, result_.errors.mismatch);
        return;
      }
      const InFlight& oldest = c.ring[c.head];
      const std::size_t take = std::min(bytes.size(), o_.size - c.got);
      if (!pattern_.matches(oldest.seq, o_.size, c.got, bytes.substr(0, take))) {
        fail(index, result_.errors.mismatch);
        return;
      }
      result_.verified_total += take;
      c.got += take;
      bytes.remove_prefix(take);
      if (c.got < o_.size) break;
      complete(index);
      if (c.generation != generation) return;
    }
  }

  // The oldest message of connection `index` was echoed in full.
  void complete(std::size_t index) {
    Connection& c = conns_[index];
    const InFlight done = c.ring[c.head];
    c.head = (c.head + 1) % c.ring.size();
    --c.in_flight;
    c.got = 0;
    switch (o_.mode) {
      case LoadMode::pingpong:
        count(now_ - done.sent);
        queue_message(c);
        flush(index);
        return;
      case LoadMode::churn:
        count(now_ - c.started);
        close(index);
        return;
      case LoadMode::idle:
        c.state = State::held;
        ++held_;
        return;
    }
  }

  void count(Clock::duration latency) {
    if (!measuring_) return;
    ++result_.messages;
    result_.bytes += o_.size;
    result_.latency.record(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count()));
  }

  std::uint64_t& classify(const Error& e) {
    const std::error_code ec = e.code();
    if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe ||
        ec == std::errc::connection_aborted) {
      return result_.errors.reset;
    }
    if (ec == std::errc::connection_refused || ec == std::errc::network_unreachable ||
        ec == std::errc::host_unreachable) {
      return result_.errors.connect;
    }
    if (ec == std::errc::timed_out) return result_.errors.timeout;
    return result_.errors.other;
  }

  // Counts one error on the connection and starts it over after a short rest, so a server
  // that refuses or lies does not turn the load into a busy loop.
  void fail(std::size_t index, std::uint64_t& counter) {
    ++counter;
    Connection& c = conns_[index];
    if (c.state == State::held) --held_;
    close(index);
    c.retry_at = now_ + std::chrono::milliseconds(20);
  }

  void close(std::size_t index) {
    Connection& c = conns_[index];
    if (c.state == State::connecting) --connecting_;
    c.socket.close();  // also leaves the epoll set
    ++c.generation;
    c.state = State::waiting;
    c.retry_at = now_;
    c.in_flight = c.got = 0;
  }

  // Connections that made no progress for o_.timeout fail with a timeout.
  void sweep() {
    last_sweep_ = now_;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      Connection& c = conns_[i];
      const bool waiting_on_server =
          c.state == State::connecting || (c.state == State::open && c.in_flight > 0);
      if (waiting_on_server && now_ - c.progress >= o_.timeout) fail(i, result_.errors.timeout);
    }
  }

  void close_all() {
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      if (conns_[i].socket.is_open()) close(i);
    }
  }

  const LoadOptions& o_;
  Pattern pattern_;
  std::vector<Connection> conns_;
  std::unique_ptr<char[]> buffer_;
  Poller poller_;
  std::array<PollEvent, 512> events_{};
  LoadResult result_;
  Clock::time_point now_{};
  Clock::time_point last_sweep_{};
  std::uint64_t next_seq_ = 0;
  std::size_t next_start_ = 0;
  std::size_t connecting_ = 0;
  std::size_t held_ = 0;
  unsigned next_source_ = 0;
  bool measuring_ = false;
  bool idle_hold_ = false;
};

}  // namespace

LoadResult run_load(const LoadOptions& options) {
  Load load(options);
  return load.run();
}

}  // namespace sockit::cli::bench
