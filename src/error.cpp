// Error categories and the Error exception: every failure message names the operation
// and the address it was attempted on.
#include "sockit/error.hpp"

#include <netdb.h>

#include <string>
#include <utility>

namespace sockit {
namespace {

class SockitCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sockit"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::line_too_long:
        return "line too long";
      case errc::frame_too_large:
        return "frame too large";
      case errc::connection_closed:
        return "connection closed";
      case errc::datagram_truncated:
        return "datagram truncated";
      case errc::timed_out:
        return "timed out";
      case errc::not_found:
        return "not found";
      case errc::invalid_argument:
        return "invalid argument";
    }
    return "unknown sockit error " + std::to_string(value);
  }

  // Lets callers compare against the portable std::errc conditions too, e.g.
  // `ec == std::errc::timed_out` holds for sockit::errc::timed_out.
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::timed_out:
        return std::make_error_condition(std::errc::timed_out);
      case errc::invalid_argument:
        return std::make_error_condition(std::errc::invalid_argument);
      default:
        return {value, *this};
    }
  }
};

// EAI_* codes are negative on glibc; gai_strerror gives the text users know from
// getaddrinfo ("Name or service not known"). EAI_SYSTEM never lands here: callers turn
// it into errno in the system category, where the real cause is.
class ResolveCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "resolve"; }
  std::string message(int value) const override { return ::gai_strerror(value); }
};

std::string format_what(const std::error_code& ec, const std::string& operation,
                        const std::string& target, const std::string& detail) {
  std::string text = operation;
  if (!target.empty()) {
    if (!text.empty()) text += ' ';
    text += target;
  }
  text += ": ";
  text += detail.empty() ? ec.message() : detail;
  return text;
}

}  // namespace

const std::error_category& sockit_category() noexcept {
  static const SockitCategory category;
  return category;
}

const std::error_category& resolve_category() noexcept {
  static const ResolveCategory category;
  return category;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), sockit_category()};
}

Error::Error(std::error_code ec, std::string operation, std::string target, std::string detail)
    : std::system_error(ec),
      operation_(std::move(operation)),
      target_(std::move(target)),
      detail_(detail == ec.message() ? std::string() : std::move(detail)),
      what_(format_what(ec, operation_, target_, detail_)) {}

void throw_errno(std::string_view operation, std::string_view target, int err) {
  throw Error(errno_code(err), std::string(operation), std::string(target));
}

void throw_error(errc e, std::string_view operation, std::string_view target,
                 std::string_view detail) {
  throw Error(make_error_code(e), std::string(operation), std::string(target), std::string(detail));
}

}  // namespace sockit
