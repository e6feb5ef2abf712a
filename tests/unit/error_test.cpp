// Error messages and categories: every message names the operation and the target.
#include "sockit/error.hpp"

#include <gtest/gtest.h>
#include <netdb.h>

#include <cerrno>
#include <string>

namespace {

TEST(ErrorTest, SystemErrorMessageNamesOperationAndTarget) {
  const sockit::Error e(sockit::errno_code(ECONNREFUSED), "connect", "127.0.0.1:7777");
  EXPECT_STREQ(e.what(), "connect 127.0.0.1:7777: Connection refused");
  EXPECT_EQ(e.code(), std::error_code(ECONNREFUSED, std::system_category()));
  EXPECT_EQ(e.code(), std::errc::connection_refused);
  EXPECT_EQ(e.operation(), "connect");
  EXPECT_EQ(e.target(), "127.0.0.1:7777");
}

TEST(ErrorTest, ThrowErrnoGivesBindMessage) {
  try {
    sockit::throw_errno("bind", "0.0.0.0:7777", EADDRINUSE);
    FAIL() << "throw_errno returned";
  } catch (const sockit::Error& e) {
    EXPECT_STREQ(e.what(), "bind 0.0.0.0:7777: Address already in use");
    EXPECT_EQ(e.code(), std::errc::address_in_use);
  }
}

TEST(ErrorTest, EmptyTargetHasNoDoubleSpace) {
  const sockit::Error e(sockit::errno_code(EMFILE), "accept");
  EXPECT_STREQ(e.what(), "accept: Too many open files");
  EXPECT_EQ(e.target(), "");
}

TEST(ErrorTest, DetailReplacesGenericMessage) {
  const sockit::Error e(sockit::make_error_code(sockit::errc::connection_closed), "read",
                        "127.0.0.1:80", "connection closed after 3 of 10 bytes");
  EXPECT_STREQ(e.what(), "read 127.0.0.1:80: connection closed after 3 of 10 bytes");
  EXPECT_EQ(e.code(), sockit::errc::connection_closed);
}

TEST(ErrorTest, ThrowErrorUsesSockitCategory) {
  try {
    sockit::throw_error(sockit::errc::line_too_long, "read line", "[::1]:9000");
    FAIL() << "throw_error returned";
  } catch (const sockit::Error& e) {
    EXPECT_STREQ(e.what(), "read line [::1]:9000: line too long");
    EXPECT_EQ(&e.code().category(), &sockit::sockit_category());
    EXPECT_EQ(e.code(), sockit::errc::line_too_long);
  }
  try {
    sockit::throw_error(sockit::errc::frame_too_large, "decode frame", "",
                        "length 5000000 > 1048576");
    FAIL() << "throw_error returned";
  } catch (const sockit::Error& e) {
    EXPECT_STREQ(e.what(), "decode frame: length 5000000 > 1048576");
  }
}

TEST(ErrorTest, ErrorIsASystemError) {
  try {
    sockit::throw_errno("connect", "127.0.0.1:1", ECONNREFUSED);
  } catch (const std::system_error& e) {
    EXPECT_EQ(std::string(e.what()), "connect 127.0.0.1:1: Connection refused");
    return;
  }
  FAIL() << "not caught as std::system_error";
}

TEST(ErrorTest, SockitCategoryMessages) {
  using sockit::errc;
  const auto message = [](errc e) { return sockit::make_error_code(e).message(); };
  EXPECT_EQ(message(errc::line_too_long), "line too long");
  EXPECT_EQ(message(errc::frame_too_large), "frame too large");
  EXPECT_EQ(message(errc::connection_closed), "connection closed");
  EXPECT_EQ(message(errc::datagram_truncated), "datagram truncated");
  EXPECT_EQ(message(errc::timed_out), "timed out");
  EXPECT_EQ(message(errc::not_found), "not found");
  EXPECT_EQ(message(errc::invalid_argument), "invalid argument");
  EXPECT_STREQ(sockit::sockit_category().name(), "sockit");
}

TEST(ErrorTest, ErrcConvertsImplicitlyToErrorCode) {
  const std::error_code ec = sockit::errc::timed_out;
  EXPECT_EQ(&ec.category(), &sockit::sockit_category());
  EXPECT_EQ(ec.value(), static_cast<int>(sockit::errc::timed_out));
  // A sockit timeout also matches the portable condition.
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_NE(std::error_code(sockit::errc::line_too_long), std::errc::timed_out);
}

TEST(ErrorTest, ResolveCategoryUsesGaiStrerror) {
  const std::error_code ec(EAI_NONAME, sockit::resolve_category());
  EXPECT_EQ(ec.message(), "Name or service not known");
  EXPECT_STREQ(sockit::resolve_category().name(), "resolve");
  const sockit::Error e(ec, "resolve", "nosuch.invalid");
  EXPECT_STREQ(e.what(), "resolve nosuch.invalid: Name or service not known");
  EXPECT_NE(ec, std::error_code(EAI_AGAIN, sockit::resolve_category()));
}

TEST(ErrorTest, CategoriesAreSingletonsAndDistinct) {
  EXPECT_EQ(&sockit::sockit_category(), &sockit::sockit_category());
  EXPECT_NE(&sockit::sockit_category(), &sockit::resolve_category());
  // The same number in two categories is two different errors.
  EXPECT_NE(std::error_code(1, sockit::sockit_category()),
            std::error_code(1, std::system_category()));
}

}  // namespace
