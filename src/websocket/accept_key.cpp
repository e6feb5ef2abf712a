// Sec-WebSocket-Key and -Accept: base64 and SHA-1 from OpenSSL's libcrypto (hashing is not
// the product; the toolkit's TLS library already depends on it).
#include <openssl/evp.h>

#include <array>
#include <span>
#include <string>
#include <system_error>

#include "base64.hpp"
#include "sockit/websocket/handshake.hpp"

namespace sockit::websocket {

namespace {

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string detail::base64(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string accept_key(std::string_view key) {
  std::string input(key);
  input.append(guid);
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1) {
    throw Error(std::make_error_code(std::errc::not_supported), "SHA-1", {},
                "libcrypto could not compute it");
  }
  return detail::base64(std::span<const std::uint8_t>(digest.data(), size));
}

bool valid_key(std::string_view key) noexcept {
  // 16 bytes: 21 characters of 6 bits, a 22nd holding the last 2 bits (its low 4 zero), "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (alphabet.find(key[i]) == std::string_view::npos) return false;
  }
  return (alphabet.find(key[21]) & 0x0f) == 0;
}

}  // namespace sockit::websocket
