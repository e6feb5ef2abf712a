// PBKDF2-HMAC-SHA256 password hashes (see sockit/auth/password.hpp).
#include "sockit/auth/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <vector>

#include "sockit/error.hpp"

namespace sockit::auth {
namespace {

// libcrypto failing (no entropy, no memory) is a failure of the system, not of the caller.
[[noreturn]] void crypto_failure(std::string_view operation, std::string_view detail) {
  throw Error(std::make_error_code(std::errc::io_error), std::string(operation), {},
              std::string(detail));
}

constexpr std::size_t salt_bytes = 16;
constexpr std::size_t hash_bytes = 32;  // SHA-256 output

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    hex += digits[data[i] >> 4];
    hex += digits[data[i] & 0x0f];
  }
  return hex;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::vector<unsigned char>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<unsigned char> bytes(hex.size() / 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return bytes;
}

struct ParsedHash {
  std::uint32_t iterations = 0;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> hash;
};

// Parses "scheme:iterations:salt:hash"; on failure `problem` says why.
std::optional<ParsedHash> parse(std::string_view encoded, std::string& problem) {
  std::array<std::string_view, 4> fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    auto colon = encoded.find(':');
    if (i + 1 < fields.size()) {
      if (colon == std::string_view::npos) {
        problem = "expected " + std::string(pbkdf2_scheme) + ":ITERATIONS:SALT:HASH";
        return std::nullopt;
      }
      fields[i] = encoded.substr(0, colon);
      encoded.remove_prefix(colon + 1);
    } else {
      fields[i] = encoded;
    }
  }
  if (fields[0] != pbkdf2_scheme) {
    problem = "unknown hash scheme '" + std::string(fields[0]) + "' (expected " +
              std::string(pbkdf2_scheme) + ")";
    return std::nullopt;
  }
  ParsedHash parsed;
  auto [end, ec] =
      std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), parsed.iterations);
  if (ec != std::errc() || end != fields[1].data() + fields[1].size()) {
    problem = "bad iteration count '" + std::string(fields[1]) + "'";
    return std::nullopt;
  }
  if (parsed.iterations < min_iterations || parsed.iterations > max_iterations) {
    problem = "iteration count " + std::to_string(parsed.iterations) + " outside " +
              std::to_string(min_iterations) + ".." + std::to_string(max_iterations);
    return std::nullopt;
  }
  auto salt = from_hex(fields[2]);
  auto hash = from_hex(fields[3]);
  if (!salt || salt->size() < 8) {
    problem = "salt must be at least 8 bytes of hex";
    return std::nullopt;
  }
  if (!hash || hash->size() != hash_bytes) {
    problem = "hash must be " + std::to_string(hash_bytes) + " bytes of hex";
    return std::nullopt;
  }
  parsed.salt = std::move(*salt);
  parsed.hash = std::move(*hash);
  return parsed;
}

std::array<unsigned char, hash_bytes> derive(std::string_view password,
                                             const std::vector<unsigned char>& salt,
                                             std::uint32_t iterations) {
  std::array<unsigned char, hash_bytes> out{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1) {
    crypto_failure("PKCS5_PBKDF2_HMAC", "failed");
  }
  return out;
}

void check_iterations(std::string_view operation, std::uint32_t iterations) {
  if (iterations < min_iterations || iterations > max_iterations) {
    throw std::invalid_argument(
        std::string(operation) + ": iteration count " + std::to_string(iterations) + " outside " +
        std::to_string(min_iterations) + ".." + std::to_string(max_iterations));
  }
}

std::vector<unsigned char> random_bytes(std::string_view operation, std::size_t size) {
  std::vector<unsigned char> bytes(size);
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    crypto_failure(operation, "RAND_bytes failed (no entropy source?)");
  }
  return bytes;
}

std::string encode(std::uint32_t iterations, const std::vector<unsigned char>& salt,
                   const unsigned char* hash) {
  std::string encoded(pbkdf2_scheme);
  encoded += ':';
  encoded += std::to_string(iterations);
  encoded += ':';
  encoded += to_hex(salt.data(), salt.size());
  encoded += ':';
  encoded += to_hex(hash, hash_bytes);
  return encoded;
}

}  // namespace

std::string hash_password(std::string_view password, std::uint32_t iterations) {
  check_iterations("hash_password", iterations);
  auto salt = random_bytes("hash_password", salt_bytes);
  auto hash = derive(password, salt, iterations);
  return encode(iterations, salt, hash.data());
}

bool verify_password(std::string_view password, std::string_view encoded, std::uint32_t cost) {
  std::string problem;
  auto parsed = parse(encoded, problem);
  if (!parsed) return false;
  auto hash = derive(password, parsed->salt, parsed->iterations);
  if (cost > parsed->iterations) {
    // The work a hash of `cost` iterations takes beyond this one's (not a sleep: the CPU
    // it would leave free shows under load).
    (void)derive(password, parsed->salt, cost - parsed->iterations);
  }
  return CRYPTO_memcmp(hash.data(), parsed->hash.data(), hash.size()) == 0;
}

std::uint32_t hash_iterations(std::string_view encoded) {
  std::string problem;
  auto parsed = parse(encoded, problem);
  return parsed ? parsed->iterations : 0;
}

std::string hash_problem(std::string_view encoded) {
  std::string problem;
  parse(encoded, problem);
  return problem;
}

std::string decoy_hash(std::uint32_t iterations) {
  check_iterations("decoy_hash", iterations);
  // A random "hash" is matched by no password anyone can find, and costs no PBKDF2 run.
  auto salt = random_bytes("decoy_hash", salt_bytes);
  auto hash = random_bytes("decoy_hash", hash_bytes);
  return encode(iterations, salt, hash.data());
}

}  // namespace sockit::auth
