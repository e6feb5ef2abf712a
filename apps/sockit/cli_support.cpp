#include "cli_support.hpp"

#include <fmt/core.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

namespace sockit::cli {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// A port number without the range check, so the message can show the number as typed.
std::uint16_t port_number(std::string_view text, bool allow_zero) {
  text = trim(text);
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
    usage_error(fmt::format("port '{}' is not a number", text));
  }
  const unsigned long low = allow_zero ? 0 : 1;
  if (ec == std::errc::result_out_of_range || value < low || value > 65535) {
    usage_error(fmt::format("port {} out of range ({}-65535)", text, low));
  }
  return static_cast<std::uint16_t>(value);
}

std::vector<std::uint16_t> parse_ports(std::string_view spec);

}  // namespace

void usage_error(const std::string& message) {
  throw CliError(exit_usage, message);
}
void failure(const std::string& message) {
  throw CliError(exit_failure, message);
}

std::uint16_t parse_port(std::string_view text, bool allow_zero, std::string_view context) {
  try {
    return port_number(text, allow_zero);
  } catch (const CliError& e) {
    if (context.empty()) throw;
    throw CliError(e.code(), fmt::format("{}: {}", context, e.what()));
  }
}

std::vector<std::uint16_t> parse_port_list(std::string_view spec, std::string_view context) {
  try {
    return parse_ports(spec);
  } catch (const CliError& e) {
    if (context.empty()) throw;
    throw CliError(e.code(), fmt::format("{}: {}", context, e.what()));
  }
}

namespace {

std::vector<std::uint16_t> parse_ports(std::string_view spec) {
  if (trim(spec).empty()) usage_error("empty port list (expected e.g. 20-100,443)");
  std::set<std::uint16_t> ports;
  std::string_view rest = spec;
  while (true) {
    auto comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) {
      usage_error(fmt::format("bad port list '{}': empty item (expected e.g. 20-100,443)", spec));
    }
    auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      ports.insert(port_number(item, false));
    } else {
      std::string_view first_text = trim(item.substr(0, dash));
      std::string_view last_text = trim(item.substr(dash + 1));
      if (first_text.empty() || last_text.empty()) {
        usage_error(fmt::format("bad port range '{}': expected FIRST-LAST, e.g. 20-100", item));
      }
      auto first = port_number(first_text, false);
      auto last = port_number(last_text, false);
      if (first > last) {
        usage_error(fmt::format("bad port range '{}': {} is above {}", item, first, last));
      }
      for (unsigned port = first; port <= last; ++port) {
        ports.insert(static_cast<std::uint16_t>(port));
      }
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return {ports.begin(), ports.end()};
}

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text, TimeUnit default_unit,
                                         std::string_view what) {
  std::string_view body = trim(text);
  double scale = default_unit == TimeUnit::seconds ? 1000.0 : 1.0;
  auto strip = [&body](std::string_view suffix) {
    if (body.size() > suffix.size() && body.substr(body.size() - suffix.size()) == suffix) {
      body.remove_suffix(suffix.size());
      return true;
    }
    return false;
  };
  if (strip("ms")) {
    scale = 1.0;
  } else if (strip("s")) {
    scale = 1000.0;
  } else if (strip("m")) {
    scale = 60'000.0;
  }
  std::string copy(body);  // strtod needs a terminated string
  char* end = nullptr;
  double value = copy.empty() ? NAN : std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(value)) {
    usage_error(fmt::format("{} '{}' is not a duration (e.g. 5, 1.5s, 500ms)", what, text));
  }
  if (value < 0) usage_error(fmt::format("{} '{}' is negative", what, text));
  double ms = value * scale;
  if (ms > max_duration_seconds * 1000.0) {
    usage_error(fmt::format("{} '{}' is too large", what, text));
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

std::chrono::milliseconds seconds(double value, std::string_view what) {
  if (!std::isfinite(value) || value < 0)
    usage_error(fmt::format("{}: bad duration {}", what, value));
  if (value > max_duration_seconds) {
    usage_error(fmt::format("{} is too large: {} seconds (at most {:.0f}, about 31 years)", what,
                            value, max_duration_seconds));
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(value * 1000.0)));
}

std::string host_port(std::string_view host, std::uint16_t port) {
  if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

bool stderr_is_terminal() noexcept {
  return ::isatty(STDERR_FILENO) == 1;
}

ProgressBar::ProgressBar(std::string label, std::size_t total)
    : label_(std::move(label)), total_(total), enabled_(stderr_is_terminal()) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(std::size_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done != total_) return;
  last_draw_ = now;
  draw(done);
}

void ProgressBar::draw(std::size_t done) {
  constexpr std::size_t width = 30;
  std::string line;
  if (total_ > 0) {
    std::size_t shown = std::min(done, total_);
    std::size_t filled = shown * width / total_;
    line = fmt::format("\r{} [{}{}] {}/{} ({}%)", label_, std::string(filled, '#'),
                       std::string(width - filled, '.'), shown, total_, shown * 100 / total_);
  } else {
    line = fmt::format("\r{} {}", label_, done);
  }
  std::fputs(line.c_str(), stderr);
  std::fputs("\x1b[K", stderr);  // erase what a longer previous line left
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!enabled_ || !drawn_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

void print_json(const nlohmann::json& value) {
  std::string text = value.dump(2);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::string family_name(int family) {
  switch (family) {
    case AF_INET:
      return "inet";
    case AF_INET6:
      return "inet6";
    case AF_UNIX:
      return "unix";
    default:
      return "unspec";
  }
}

nlohmann::json address_json(const Address& address) {
  nlohmann::json out;
  out["family"] = family_name(address.family());
  if (address.is_ip()) {
    out["address"] = address.ip();
    out["port"] = address.port();
  } else if (address.is_unix()) {
    out["path"] = address.path();
    out["abstract"] = address.is_abstract();
  }
  return out;
}

}  // namespace sockit::cli
