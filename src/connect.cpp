// robust_connect: TcpSocket::connect with exponential backoff on failures that may pass.
#include "sockit/connect.hpp"

#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <thread>

#include "sockit/error.hpp"

namespace sockit {
namespace {

// Error::what() is "<operation> <target>: <detail>"; the detail alone, to extend it.
std::string detail_of(const Error& error) {
  std::string_view what = error.what();
  std::string prefix = error.operation();
  if (!error.target().empty()) prefix.append(prefix.empty() ? "" : " ").append(error.target());
  prefix += ": ";
  if (what.substr(0, prefix.size()) == prefix) what.remove_prefix(prefix.size());
  return std::string(what);
}

}  // namespace

bool is_retryable_connect_error(const std::error_code& ec) noexcept {
  if (ec.category() == std::system_category()) {
    switch (ec.value()) {
      case ETIMEDOUT:
      case EHOSTUNREACH:
      case ENETUNREACH:
      case EHOSTDOWN:
      case ENETDOWN:
        return true;
      default:
        return false;
    }
  }
  if (ec.category() == resolve_category()) return ec.value() == EAI_AGAIN;  // DNS hiccup
  return ec == std::errc::timed_out;  // sockit::errc::timed_out
}

TcpSocket robust_connect(std::string_view host, std::uint16_t port, const RetryPolicy& policy,
                         const ConnectOptions& options) {
  ConnectOptions attempt_options = options;
  if (!attempt_options.timeout) attempt_options.timeout = policy.attempt_timeout;
  const int max_attempts = std::max(1, policy.max_attempts);
  std::chrono::milliseconds delay = policy.initial_delay;

  for (int attempt = 1;; ++attempt) {
    try {
      return TcpSocket::connect(host, port, attempt_options);
    } catch (const Error& error) {
      const bool retryable = is_retryable_connect_error(error.code());
      const bool again = retryable && attempt < max_attempts;
      if (policy.on_failure) {
        ConnectAttempt report;
        report.attempt = attempt;
        report.error = error.code();
        report.message = error.what();
        if (again) report.retry_in = delay;
        policy.on_failure(report);
      }
      if (!again) {
        if (!retryable || attempt == 1) throw;
        throw Error(error.code(), error.operation(), error.target(),
                    detail_of(error) + " (gave up after " + std::to_string(attempt) + " attempts)");
      }
    }
    std::this_thread::sleep_for(delay);
    auto grown = std::chrono::duration_cast<std::chrono::milliseconds>(delay * policy.multiplier);
    delay = std::min(grown, policy.max_delay);
  }
}

}  // namespace sockit
