// Connecting with retries (the seeds' robust_connect): exponential backoff on failures that
// may pass (timeouts, unreachable host or network, temporary DNS failure); refusal and a
// name that does not exist fail at once, because retrying would not change the answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "sockit/tcp.hpp"

namespace sockit {

// Reported after every failed attempt.
struct ConnectAttempt {
  int attempt = 0;        // 1 for the first
  std::error_code error;  // e.g. ECONNREFUSED, ETIMEDOUT, an EAI_* code
  std::string message;    // the attempt's Error::what()
  // The pause before the next attempt; nullopt when this failure is final.
  std::optional<std::chrono::milliseconds> retry_in;
};

struct RetryPolicy {
  int max_attempts = 3;
  std::chrono::milliseconds initial_delay{1000};
  double multiplier = 2.0;
  std::chrono::milliseconds max_delay{30'000};
  // Bounds each attempt when ConnectOptions::timeout is unset.
  std::chrono::milliseconds attempt_timeout{5'000};
  // Called after each failed attempt (for logging, or counting in tests).
  std::function<void(const ConnectAttempt&)> on_failure;
};

// Whether robust_connect retries after this error.
bool is_retryable_connect_error(const std::error_code& ec) noexcept;

// TcpSocket::connect with retries. A final failure after retries throws Error with the
// last error's code: "connect HOST:PORT: Connection timed out (gave up after 3 attempts)".
// A refusal throws at once ("connect 127.0.0.1:7777: Connection refused"), a name that does
// not resolve too ("resolve nosuch.invalid: Name or service not known").
[[nodiscard]] TcpSocket robust_connect(std::string_view host, std::uint16_t port,
                                       const RetryPolicy& policy = {},
                                       const ConnectOptions& options = {});

}  // namespace sockit
