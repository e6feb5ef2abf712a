// Precompiled for every test program: GoogleTest/GoogleMock and the standard headers the
// tests use most. Parsing gtest once instead of once per test file roughly halves the
// build time of the suite.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
