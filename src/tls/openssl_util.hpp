// Internal helpers shared by the TLS sources: OpenSSL error queue to text, RAII deleters.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "sockit/address.hpp"

namespace sockit::detail {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free_all(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// The reason of the oldest error in this thread's OpenSSL queue ("wrong version number"),
// then clears the queue; `fallback` when the queue is empty. A failed certificate check
// gets the verifier's verdict appended: "certificate verify failed (hostname mismatch)".
std::string take_error_reason(const SSL* ssl = nullptr, std::string_view fallback = {});

// Whether the oldest queued error is OpenSSL's "unexpected eof while reading" (the peer
// closed TCP without close_notify). Leaves the queue alone.
bool error_is_unexpected_eof() noexcept;
// Whether the oldest queued error is a certificate verification failure.
bool error_is_verify_failure() noexcept;

// Who a TLS message is about: the peer's address when it has one; for a Unix connection
// whose peer is unnamed (every accepted client, a socketpair), our own socket path, else
// "(unix)"; "(unknown peer)" when nothing is known. Never empty, never throws.
std::string peer_label(const Address& peer, const Address& local) noexcept;

// A client's expected server: SNI and the host-name check for a name, the IP check for an
// address literal (SNI carries names only, RFC 6066). False when OpenSSL refused it.
bool set_server_name(SSL* ssl, const std::string& name);

// Drains everything pending in a memory BIO into `out` (appending).
void drain_bio(BIO* bio, std::string& out);

}  // namespace sockit::detail
