// TLS failures as error codes, for sockit::Error. A handshake failure reads
//   "tls handshake with 127.0.0.1:8443: certificate verify failed (self-signed certificate)"
// with the OpenSSL reason (and the certificate check's verdict) in the detail; the code
// says which kind of failure it was, so callers can tell a bad certificate from a bad peer.
#pragma once

#include <system_error>

namespace sockit {

enum class tls_errc {
  handshake_failed = 1,   // the peer does not speak TLS, or no common parameters
  certificate_rejected,   // our verification of the peer's certificate failed
  protocol_error,         // a TLS error after the handshake (bad record, bad MAC...)
  closed_without_notify,  // the peer closed TCP without sending close_notify
  configuration,          // a certificate, key or CA file could not be used
};

const std::error_category& tls_category() noexcept;
std::error_code make_error_code(tls_errc e) noexcept;

}  // namespace sockit

template <>
struct std::is_error_code_enum<sockit::tls_errc> : std::true_type {};
