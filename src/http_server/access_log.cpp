// The combined log format, batched (see access_log.hpp).
#include "access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>

#include "../quiet_thread.hpp"
#include "sockit/error.hpp"
#include "sockit/http/request_parser.hpp"

namespace sockit::http {
namespace {

// What the buffer may hold before lines are dropped (a log that cannot keep up must not
// grow the server), and what makes a forked child write without waiting for its close.
constexpr std::size_t max_buffered = 4 * 1024 * 1024;
constexpr std::size_t child_flush_bytes = 16 * 1024;

// A header value as a quoted log field: quotes, backslashes and control bytes escaped, so
// a client cannot forge a line.
void append_quoted(std::string& line, std::string_view value) {
  constexpr char hex[] = "0123456789abcdef";
  line += '"';
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      line += '\\';
      line += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      line += "\\x";
      line += hex[c >> 4];
      line += hex[c & 15];
    } else {
      line += ch;
    }
  }
  line += '"';
}

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "[%d/%b/%Y:%H:%M:%S %z]", &local);
  return std::string(text, n);
}

}  // namespace

AccessLog::AccessLog(const std::string& where) : owner_(::getpid()) {
  if (where == "-") {
    fd_ = STDOUT_FILENO;
    return;
  }
  int fd = ::open(where.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("open access log", where, errno);
  file_ = FileDescriptor(fd);
  fd_ = fd;
}

AccessLog::~AccessLog() {
  if (in_child()) return;  // the parent's thread is not ours to join
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
  flush();
}

bool AccessLog::in_child() const noexcept {
  return ::getpid() != owner_;
}

void AccessLog::record(const Address& peer, const RequestHead* head, int status,
                       std::uint64_t body_bytes) {
  std::string line = peer.ip();
  if (line.empty()) line.push_back('-');
  line += " - - ";
  line += timestamp();
  line += ' ';
  if (head != nullptr) {
    append_quoted(line, head->request_line());
  } else {
    line += "\"-\"";
  }
  line += ' ';
  line += std::to_string(status);
  line += ' ';
  line += body_bytes == 0 ? std::string("-") : std::to_string(body_bytes);
  line += ' ';
  const auto referer = head != nullptr ? head->headers.get("Referer") : std::nullopt;
  const auto agent = head != nullptr ? head->headers.get("User-Agent") : std::nullopt;
  append_quoted(line, referer.value_or("-"));
  line += ' ';
  append_quoted(line, agent.value_or("-"));
  line += '\n';

  const bool child = in_child();
  std::string batch;
  {
    std::lock_guard lock(mutex_);
    if (buffer_.size() + line.size() > max_buffered) {
      ++dropped_;
      return;
    }
    buffer_ += line;
    if (!child) {
      if (writer_pid_ == 0) start_writer_locked();
    } else if (buffer_.size() >= child_flush_bytes) {
      batch.swap(buffer_);
    }
  }
  if (!batch.empty()) write_out(batch);
  if (!child) wake_.notify_one();
}

void AccessLog::flush() {
  std::string batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(buffer_);
  }
  write_out(batch);
}

void AccessLog::start_writer_locked() {
  writer_pid_ = ::getpid();
  writer_ = sockit::detail::quiet_thread([this] { writer_main(); });
}

// Writes a batch at most every 100 ms: a busy server makes one write(2) per batch, an idle
// one shows its last lines within a tenth of a second.
void AccessLog::writer_main() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait(lock, [this] { return stopping_ || !buffer_.empty(); });
    if (stopping_) break;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    lock.lock();
    std::string batch;
    batch.swap(buffer_);
    lock.unlock();
    write_out(batch);
    lock.lock();
  }
}

void AccessLog::write_out(const std::string& bytes) noexcept {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a log that cannot be written must not stop the server
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace sockit::http
