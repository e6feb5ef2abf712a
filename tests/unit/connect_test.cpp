// robust_connect: which failures are retried, with what backoff, and how each one reads.
#include "sockit/connect.hpp"

#include <gtest/gtest.h>
#include <netdb.h>

#include <chrono>
#include <string>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/socket.hpp"
#include "support/unresolvable.hpp"

namespace sockit {
namespace {

using namespace std::chrono_literals;

// Records every failed attempt robust_connect reports.
struct Recorder {
  std::vector<ConnectAttempt> attempts;
  RetryPolicy policy(int max_attempts = 3) {
    RetryPolicy p;
    p.max_attempts = max_attempts;
    p.initial_delay = 10ms;
    p.multiplier = 2.0;
    p.max_delay = 15ms;
    p.attempt_timeout = 200ms;
    p.on_failure = [this](const ConnectAttempt& attempt) { attempts.push_back(attempt); };
    return p;
  }
};

TEST(RobustConnect, RefusedFailsAtOnce) {
  Socket holder(AF_INET, SOCK_STREAM);  // bound, never listening: connects are refused
  holder.bind(Address::loopback_ipv4(0));
  const std::uint16_t port = holder.local_address().port();
  Recorder recorder;
  try {
    (void)robust_connect("127.0.0.1", port, recorder.policy());
    FAIL() << "connected to a port nobody listens on";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errno_code(ECONNREFUSED));
    EXPECT_EQ(std::string(error.what()),
              "connect 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  }
  ASSERT_EQ(recorder.attempts.size(), 1U);
  EXPECT_EQ(recorder.attempts[0].attempt, 1);
  EXPECT_EQ(recorder.attempts[0].error, errno_code(ECONNREFUSED));
  EXPECT_FALSE(recorder.attempts[0].retry_in.has_value());
}

TEST(RobustConnect, UnknownHostGivesTheResolverMessage) {
  const std::string host = test::unresolvable_host;
  Recorder recorder;
  try {
    (void)robust_connect(host, 80, recorder.policy());
    FAIL() << host << " resolved";
  } catch (const Error& error) {
    EXPECT_EQ(&error.code().category(), &resolve_category());
    EXPECT_EQ(error.code().value(), EAI_NONAME);
    EXPECT_EQ(std::string(error.what()), "resolve " + host + ": Name or service not known");
  }
  // A name that does not exist will not exist on the next try either.
  ASSERT_EQ(recorder.attempts.size(), 1U);
  EXPECT_EQ(recorder.attempts.back().message, "resolve " + host + ": Name or service not known");
}

TEST(RobustConnect, TimeoutsAreRetriedWithGrowingDelays) {
  // A listener whose accept queue is full drops new SYNs: connects to it hang.
  Socket listener(AF_INET, SOCK_STREAM);
  listener.bind(Address::loopback_ipv4(0));
  listener.listen(0);
  const std::uint16_t port = listener.local_address().port();
  std::vector<Socket> fillers;
  for (int i = 0; i < 2; ++i) {
    fillers.emplace_back(AF_INET, SOCK_STREAM);
    fillers.back().connect_nonblock(Address::loopback_ipv4(port));
  }
  {
    Socket probe(AF_INET, SOCK_STREAM);
    std::error_code ec;
    probe.connect(Address::loopback_ipv4(port), 500ms, ec);
    if (ec != std::errc::timed_out) GTEST_SKIP() << "this kernel does not drop SYNs: " << ec;
  }

  Recorder recorder;
  try {
    (void)robust_connect("127.0.0.1", port, recorder.policy(3));
    FAIL() << "connected to a silent server";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errno_code(ETIMEDOUT));
    EXPECT_EQ(std::string(error.what()), "connect 127.0.0.1:" + std::to_string(port) +
                                             ": Connection timed out (gave up after 3 attempts)");
  }
  ASSERT_EQ(recorder.attempts.size(), 3U);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(recorder.attempts[static_cast<std::size_t>(i)].attempt, i + 1);
    EXPECT_EQ(recorder.attempts[static_cast<std::size_t>(i)].error, errno_code(ETIMEDOUT));
  }
  // 10 ms, then 20 ms capped at max_delay (15 ms), then no retry.
  EXPECT_EQ(recorder.attempts[0].retry_in, std::optional(10ms));
  EXPECT_EQ(recorder.attempts[1].retry_in, std::optional(15ms));
  EXPECT_FALSE(recorder.attempts[2].retry_in.has_value());
}

TEST(RobustConnect, SuccessReportsNoFailure) {
  Socket listener(AF_INET, SOCK_STREAM);
  listener.bind(Address::loopback_ipv4(0));
  listener.listen();
  Recorder recorder;
  TcpSocket client =
      robust_connect("127.0.0.1", listener.local_address().port(), recorder.policy());
  EXPECT_EQ(client.remote_address(), listener.local_address());
  EXPECT_TRUE(recorder.attempts.empty());
}

TEST(RobustConnect, RetryableErrors) {
  EXPECT_TRUE(is_retryable_connect_error(errno_code(ETIMEDOUT)));
  EXPECT_TRUE(is_retryable_connect_error(errno_code(EHOSTUNREACH)));
  EXPECT_TRUE(is_retryable_connect_error(errno_code(ENETUNREACH)));
  EXPECT_TRUE(is_retryable_connect_error(make_error_code(errc::timed_out)));
  EXPECT_TRUE(is_retryable_connect_error({EAI_AGAIN, resolve_category()}));
  EXPECT_FALSE(is_retryable_connect_error(errno_code(ECONNREFUSED)));
  EXPECT_FALSE(is_retryable_connect_error({EAI_NONAME, resolve_category()}));
  EXPECT_FALSE(is_retryable_connect_error(make_error_code(errc::invalid_argument)));
}

}  // namespace
}  // namespace sockit
