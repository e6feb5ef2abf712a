// Shared conventions of the sockit subcommands: failures as CliError (main prints
// "sockit: <what failed>: <why>" and exits 1, or 2 for usage), argument parsing with clear
// messages (ports, port ranges, durations), a progress bar that only draws on a terminal,
// and JSON output.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "sockit/address.hpp"

namespace sockit::cli {

// Thrown by subcommands; main.cpp prints "sockit: " + what() to stderr and exits with code.
// Other exceptions escaping a subcommand follow the library's rule (sockit/error.hpp):
// std::invalid_argument exits 2, sockit::Error and the rest exit 1.
class CliError : public std::runtime_error {
 public:
  CliError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

// Shorthands: usage_error("scan: bad port range '10-5': start is above end").
[[noreturn]] void usage_error(const std::string& message);
[[noreturn]] void failure(const std::string& message);

// "443" -> 443. Throws CliError(exit_usage): "port 70000 out of range (1-65535)",
// "port 'abc' is not a number", prefixed with "context: " when one is given ("scan").
// allow_zero admits 0 ("let the kernel pick").
std::uint16_t parse_port(std::string_view text, bool allow_zero = false,
                         std::string_view context = {});

// "20-100,443" -> every port, sorted, without duplicates. Throws CliError(exit_usage) for
// "70000", "10-5", "abc", "", "1-", prefixed with "context: " when one is given.
std::vector<std::uint16_t> parse_port_list(std::string_view spec, std::string_view context = {});

// "5" (in default_unit), "1.5s", "500ms", "2m" -> milliseconds. Throws CliError(exit_usage)
// naming `what` for malformed or negative values.
enum class TimeUnit { seconds, milliseconds };
std::chrono::milliseconds parse_duration(std::string_view text, TimeUnit default_unit,
                                         std::string_view what = "duration");
// The longest duration an option takes: about 31 years, well inside what a deadline on the
// steady clock (64-bit nanoseconds, about 292 years from boot) can hold.
inline constexpr double max_duration_seconds = 1e9;
// For CLI11 options that are plain numbers: seconds (double) -> milliseconds, rounded.
// Throws CliError(exit_usage) naming `what` (the option) for a negative value or one past
// max_duration_seconds, which no clock arithmetic could hold.
std::chrono::milliseconds seconds(double value, std::string_view what = "duration");

// "host:port", bracketing IPv6 literals: "[::1]:80".
std::string host_port(std::string_view host, std::uint16_t port);

bool stderr_is_terminal() noexcept;

// A one-line progress bar on stderr, redrawn at most ~10 times a second, drawn only when
// stderr is a terminal (so pipes and test logs stay clean). Cleared by finish() or the
// destructor. total 0 means "unknown": shows the count only.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar();

  bool enabled() const noexcept { return enabled_; }
  void set_total(std::size_t total) noexcept { total_ = total; }
  void update(std::size_t done);
  void finish();  // erases the bar

 private:
  void draw(std::size_t done);

  std::string label_;
  std::size_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

// Writes `value` to stdout, pretty-printed, with a trailing newline.
void print_json(const nlohmann::json& value);
// {"address": "127.0.0.1", "port": 80, "family": "inet"} style fields for an address.
nlohmann::json address_json(const Address& address);
// "inet", "inet6", "unix", "unspec".
std::string family_name(int family);

}  // namespace sockit::cli
