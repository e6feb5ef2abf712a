// Password hashing for the command service's user file: PBKDF2-HMAC-SHA256 with a random
// 16-byte salt (OpenSSL libcrypto), encoded as "pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX".
// Verification recomputes the hash and compares in constant time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sockit::auth {

inline constexpr std::string_view pbkdf2_scheme = "pbkdf2-sha256";
// Fewer iterations than this are refused when hashing and when reading a user file.
inline constexpr std::uint32_t min_iterations = 100'000;
inline constexpr std::uint32_t default_iterations = 210'000;
// More than this are refused too: every login (and every unknown user's, see decoy_hash)
// costs what the dearest user in the file costs, and this keeps that well under a second.
inline constexpr std::uint32_t max_iterations = 1'000'000;

// "pbkdf2-sha256:210000:<32 hex>:<64 hex>". Throws std::invalid_argument for iterations
// outside min_iterations..max_iterations, sockit::Error if the system cannot give random bytes.
std::string hash_password(std::string_view password, std::uint32_t iterations = default_iterations);

// True when `password` matches `encoded`. A malformed `encoded` never matches. When
// `encoded` has fewer iterations than `cost`, the rest are spent on a throw-away hash, so
// that every check against one user file takes as long (see UserFile::max_iterations).
bool verify_password(std::string_view password, std::string_view encoded, std::uint32_t cost = 0);

// The iteration count of a valid hash; 0 when `encoded` is not one.
std::uint32_t hash_iterations(std::string_view encoded);

// Why `encoded` is not a valid hash ("" when it is): wrong scheme, too few iterations,
// bad hex. For reporting a broken user file line.
std::string hash_problem(std::string_view encoded);

// A hash no password matches (random salt and hash) of `iterations` iterations: checking
// a login for an unknown user against it costs what checking a known one of that cost
// does. Throws as hash_password does.
std::string decoy_hash(std::uint32_t iterations);

}  // namespace sockit::auth
