// Errors: the library's one exception rule, and the sockit::Error that carries most of it.
//   - sockit::Error for every failure of the OS, the network, a peer or a file, and for text
//     from outside the program that does not parse (a host, a URL, a user file's line): a
//     std::error_code and a message naming the operation and the address, e.g.
//     "connect 127.0.0.1:7777: Connection refused". errno values use std::system_category(),
//     getaddrinfo failures resolve_category(), sockit's own conditions sockit::errc.
//   - std::invalid_argument for a caller's mistake, found before any I/O: an option value out
//     of range, a missing service, options that contradict each other, a service run on an
//     architecture that cannot serve it.
// The sockit CLI maps the first to exit code 1 and the second to 2 (bad arguments).
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

namespace sockit {

// sockit's own error conditions, for failures that have no errno.
enum class errc {
  line_too_long = 1,   // a line exceeded its maximum length
  frame_too_large,     // a length prefix or frame exceeded its maximum size
  connection_closed,   // the peer closed before the operation completed
  datagram_truncated,  // a datagram was larger than the buffer given for it
  timed_out,           // a deadline passed
  not_found,           // a lookup found nothing (interface, service name...)
  invalid_argument,    // a malformed host, port, path, option value or file line
};

const std::error_category& sockit_category() noexcept;
// getaddrinfo/getnameinfo EAI_* codes ("Name or service not known").
const std::error_category& resolve_category() noexcept;

std::error_code make_error_code(errc e) noexcept;

// The exception type of every failure outside the caller's control (see the rule above).
//   what() == "<operation> <target>: <detail or ec.message()>"   (target may be empty)
class Error : public std::system_error {
 public:
  Error(std::error_code ec, std::string operation, std::string target = {},
        std::string detail = {});

  const std::string& operation() const noexcept { return operation_; }
  const std::string& target() const noexcept { return target_; }
  // What the error said beyond its code's generic message (e.g. OpenSSL's reason under
  // "TLS protocol error"); empty when nothing more was given. Kept when a caller rewraps
  // the error under its own operation.
  const std::string& detail() const noexcept { return detail_; }
  // std::system_error would append ": " + ec.message() even when a detail is given.
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string operation_;
  std::string target_;
  std::string detail_;
  std::string what_;
};

// Throws Error(std::error_code(err, system_category()), operation, target).
[[noreturn]] void throw_errno(std::string_view operation, std::string_view target, int err);
// Throws Error for a sockit::errc, with an optional detail replacing the generic message.
[[noreturn]] void throw_error(errc e, std::string_view operation, std::string_view target,
                              std::string_view detail = {});

// The errno-to-code helper used by the non-throwing overloads.
inline std::error_code errno_code(int err) noexcept {
  return {err, std::system_category()};
}

// True for the errors that mean no descriptor (or no memory for one) could be had:
// EMFILE, ENFILE, ENOBUFS, ENOMEM. A server meeting them on accept should pause accepting
// until descriptors are released rather than spin on a listener that stays readable.
inline bool is_out_of_descriptors(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}
// The same for a code from the error_code& overloads. It compares the category by identity
// and reads the value: no virtual call on the category, since with the descriptor table
// full even a sanitizer's runtime checks of such a call can fail.
inline bool is_out_of_descriptors(const std::error_code& ec) noexcept {
  return &ec.category() == &std::system_category() && is_out_of_descriptors(ec.value());
}

}  // namespace sockit

template <>
struct std::is_error_code_enum<sockit::errc> : std::true_type {};
