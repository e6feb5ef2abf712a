// OpenSSL error-queue helpers (see openssl_util.hpp).
#include "openssl_util.hpp"

#include <openssl/x509_vfy.h>

#include <cstdio>

namespace sockit::detail {

std::string take_error_reason(const SSL* ssl, std::string_view fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string reason;
  if (code == 0) {
    reason = std::string(fallback);
  } else if (const char* text = ERR_reason_error_string(code)) {
    reason = text;
  } else {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    reason = buffer;
  }
  if (code != 0 && ERR_GET_LIB(code) == ERR_LIB_SSL &&
      ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED && ssl != nullptr) {
    long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK) {
      reason += " (";
      reason += X509_verify_cert_error_string(verdict);
      reason += ")";
    }
  }
  return reason;
}

bool error_is_unexpected_eof() noexcept {
  unsigned long code = ERR_peek_error();
  return code != 0 && ERR_GET_LIB(code) == ERR_LIB_SSL &&
         ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

bool error_is_verify_failure() noexcept {
  unsigned long code = ERR_peek_error();
  return code != 0 && ERR_GET_LIB(code) == ERR_LIB_SSL &&
         ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

std::string peer_label(const Address& peer, const Address& local) noexcept {
  try {
    // An unnamed Unix address is only its family (no sun_path bytes).
    auto named = [](const Address& a) {
      return !a.is_unspecified_family() && !(a.is_unix() && a.path().empty());
    };
    if (named(peer)) return peer.to_string();
    if (peer.is_unix() || local.is_unix()) return named(local) ? local.to_string() : "(unix)";
  } catch (...) {
    // Only labels a message; falls through to the generic name.
  }
  return "(unknown peer)";
}

void drain_bio(BIO* bio, std::string& out) {
  for (;;) {
    std::size_t pending = BIO_ctrl_pending(bio);
    if (pending == 0) return;
    std::size_t old = out.size();
    out.resize(old + pending);
    std::size_t got = 0;
    if (BIO_read_ex(bio, out.data() + old, pending, &got) != 1) got = 0;
    out.resize(old + got);
    if (got == 0) return;
  }
}

bool set_server_name(SSL* ssl, const std::string& name) {
  if (Address::try_parse(name).has_value()) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
  }
  // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
  void* host = const_cast<char*>(name.c_str());
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, host) == 1 &&
         SSL_set1_host(ssl, name.c_str()) == 1;
}

}  // namespace sockit::detail
