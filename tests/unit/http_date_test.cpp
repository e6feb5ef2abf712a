// HTTP dates: the IMF-fixdate written, the three forms read, malformed ones refused, and
// formatting from several threads at once giving the same text.
// sockit-test-labels: threaded
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "sockit/http/static_files.hpp"

namespace {

using sockit::http::format_http_date;
using sockit::http::parse_http_date;
using std::chrono::system_clock;

// RFC 9110's example instant: Sun, 06 Nov 1994 08:49:37 GMT.
const system_clock::time_point kExample = system_clock::from_time_t(784111777);

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(format_http_date(kExample), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(system_clock::from_time_t(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(system_clock::from_time_t(951782400)),
            "Tue, 29 Feb 2000 00:00:00 GMT");
  // Sub-second parts are dropped, not rounded.
  EXPECT_EQ(format_http_date(kExample + std::chrono::milliseconds(999)),
            "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpDate, ParsesTheThreeForms) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kExample);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kExample);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kExample);
  EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994"), kExample + std::chrono::days(10));
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT "), kExample);
  EXPECT_EQ(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), system_clock::from_time_t(0));
  EXPECT_EQ(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT"),
            system_clock::from_time_t(946684800));
}

TEST(HttpDate, RoundTrips) {
  for (std::time_t t :
       {std::time_t{0}, std::time_t{784111777}, std::time_t{1609556645}, std::time_t{4102444799}}) {
    const auto when = system_clock::from_time_t(t);
    EXPECT_EQ(parse_http_date(format_http_date(when)), when) << t;
  }
}

TEST(HttpDate, RefusesMalformedDates) {
  for (const char* text :
       {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTX", "Sun,06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov  6 08:49:37", "Sun Nov 06 08:49:37 94",
        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:3 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT"}) {
    EXPECT_EQ(parse_http_date(text), std::nullopt) << text;
  }
}

TEST(HttpDate, FormatsFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&wrong, i] {
      for (int n = 0; n < 2000; ++n) {
        if (format_http_date(kExample) != "Sun, 06 Nov 1994 08:49:37 GMT") ++wrong[i];
      }
    });
  }
  for (auto& t : threads)
    t.join();
  for (int w : wrong)
    EXPECT_EQ(w, 0);
}

}  // namespace
