// The TLS error category (see tls_error.hpp).
#include "sockit/tls/tls_error.hpp"

#include <string>

namespace sockit {
namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    switch (static_cast<tls_errc>(value)) {
      case tls_errc::handshake_failed:
        return "TLS handshake failed";
      case tls_errc::certificate_rejected:
        return "certificate verify failed";
      case tls_errc::protocol_error:
        return "TLS protocol error";
      case tls_errc::closed_without_notify:
        return "connection closed without TLS close_notify (data may be truncated)";
      case tls_errc::configuration:
        return "TLS configuration error";
    }
    return "unknown TLS error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& tls_category() noexcept {
  static const TlsCategory category;
  return category;
}

std::error_code make_error_code(tls_errc e) noexcept {
  return {static_cast<int>(e), tls_category()};
}

}  // namespace sockit
