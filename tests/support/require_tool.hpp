// Test support: what a test does when a peer tool it needs (nc, socat, ruby, python3,
// openssl, nginx, prlimit, script...) is missing. On a developer's machine the test is
// skipped; in CI scripts/install-deps.sh is supposed to have installed every one of them,
// so there a missing tool fails the test instead of silently shrinking the suite.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

#include "support/process.hpp"

namespace sockit::test {

// True when the environment variable CI is set to anything but "", "false" or "0"
// (the CI command is `CI=true bash .ci/run`).
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  const std::string_view value(ci);
  return !value.empty() && value != "false" && value != "0";
}

}  // namespace sockit::test

// Skips the calling test, or fails it in CI, saying that `what` is missing. Like
// GTEST_SKIP and FAIL it returns from the calling function.
#define SOCKIT_MISSING_TOOL(what)                                                          \
  do {                                                                                     \
    if (::sockit::test::in_ci())                                                           \
      FAIL() << (what) << " is missing: CI expects scripts/install-deps.sh to install it"; \
    GTEST_SKIP() << (what) << " is not installed";                                         \
  } while (0)

// SOCKIT_MISSING_TOOL unless `tool` is an executable on PATH.
#define SOCKIT_REQUIRE_TOOL(tool)                                    \
  do {                                                               \
    if (!::sockit::test::have_tool(tool)) SOCKIT_MISSING_TOOL(tool); \
  } while (0)
