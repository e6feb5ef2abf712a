// The sans-I/O request parser: every case fed whole, byte by byte, in odd-sized pieces and
// split in two at every point; pipelining, bodies by length and chunked, every limit at
// exactly the limit and one over, and every refusal with the status it deserves.
#include "sockit/http/request_parser.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using sockit::http::RequestError;
using sockit::http::RequestEvent;
using sockit::http::RequestLimits;
using sockit::http::RequestParser;

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  std::string target;
  int version_minor = -1;
  std::string request_line;
  Fields headers;
  bool keep_alive = false;
  bool expects_continue = false;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  std::string body;
  Fields trailers;
  bool done = false;
};

struct Fed {
  std::vector<Request> requests;  // the last one may be incomplete (done false)
  std::string left_over;          // bytes of a request whose head has not started
};

Fields fields_of(const sockit::http::Headers& headers) {
  Fields out;
  for (std::size_t i = 0; i < headers.size(); ++i)
    out.emplace_back(headers[i].name, headers[i].value);
  return out;
}

// Feeds the pieces in turn to one parser, pipelined requests one after the other (reset()
// after each `done`), checking the event contract on the way.
Fed feed_pieces(const std::vector<std::string_view>& pieces, RequestLimits limits) {
  RequestParser parser(limits);
  Fed out;
  Request current;
  for (std::string_view piece : pieces) {
    for (;;) {
      const auto r = parser.parse(piece);
      EXPECT_LE(r.consumed, piece.size());
      const std::string_view consumed = piece.substr(0, r.consumed);
      piece.remove_prefix(r.consumed);
      if (r.event == RequestEvent::need_more) {
        EXPECT_TRUE(piece.empty());
        break;
      }
      if (r.event == RequestEvent::head) {
        EXPECT_TRUE(parser.head_complete());
        EXPECT_FALSE(parser.head_started());
        const auto& h = parser.head();
        current.method = h.method;
        current.target = h.target;
        current.version_minor = h.version_minor;
        current.request_line = h.request_line();
        current.headers = fields_of(h.headers);
        current.keep_alive = h.keep_alive();
        current.expects_continue = h.expects_continue();
        current.content_length = parser.content_length();
        current.chunked = parser.chunked();
      } else if (r.event == RequestEvent::body) {
        EXPECT_FALSE(r.body.empty());
        // A view into the input, never a copy.
        EXPECT_EQ(r.body.data() + r.body.size(), consumed.data() + consumed.size());
        current.body.append(r.body);
        EXPECT_EQ(parser.body_bytes(), current.body.size());
      } else {
        EXPECT_TRUE(parser.done());
        current.trailers = fields_of(parser.trailers());
        current.done = true;
        out.requests.push_back(std::move(current));
        current = Request{};
        parser.reset();
        EXPECT_FALSE(parser.head_started());
        EXPECT_FALSE(parser.head_complete());
      }
    }
  }
  if (parser.head_complete()) {
    out.requests.push_back(std::move(current));
  }
  return out;
}

// Every way the test runs a wire: whole, in pieces of 1, 2, 3, 5, 7 and 13 bytes, and (for a
// short wire) split in two at every byte.
std::vector<std::vector<std::string_view>> splits(std::string_view wire) {
  std::vector<std::vector<std::string_view>> out;
  out.push_back({wire});
  for (std::size_t step : {1, 2, 3, 5, 7, 13}) {
    std::vector<std::string_view> pieces;
    for (std::size_t at = 0; at < wire.size(); at += step)
      pieces.push_back(wire.substr(at, step));
    out.push_back(std::move(pieces));
  }
  if (wire.size() <= 400) {
    for (std::size_t at = 1; at < wire.size(); ++at)
      out.push_back({wire.substr(0, at), wire.substr(at)});
  }
  return out;
}

std::string describe(const std::vector<std::string_view>& pieces) {
  std::string out = std::to_string(pieces.size()) + " pieces:";
  for (std::size_t i = 0; i < pieces.size() && i < 3; ++i)
    out.append(" ").append(std::to_string(pieces[i].size()));
  return out;
}

// Runs `check` on the outcome of every split of `wire`.
template <class Check>
void each_split(std::string_view wire, Check check, RequestLimits limits = {}) {
  for (const auto& pieces : splits(wire)) {
    SCOPED_TRACE(describe(pieces));
    check(feed_pieces(pieces, limits));
    if (::testing::Test::HasFailure()) return;  // one split's failures say enough
  }
}

// The first request of `wire`, which must be complete however it is split.
Request parse_one(std::string_view wire, RequestLimits limits = {}) {
  Request first;
  each_split(
      wire,
      [&](const Fed& fed) {
        ASSERT_FALSE(fed.requests.empty());
        EXPECT_TRUE(fed.requests.front().done);
        first = fed.requests.front();
      },
      limits);
  return first;
}

struct Refusal {
  int status = 0;
  std::string detail;
};

// The refusal `wire` meets, the same status for every split (the detail of the whole feed).
Refusal refusal(std::string_view wire, RequestLimits limits = {}) {
  Refusal whole;
  for (const auto& pieces : splits(wire)) {
    SCOPED_TRACE(describe(pieces));
    try {
      feed_pieces(pieces, limits);
      ADD_FAILURE() << "no error for " << wire.substr(0, 200);
      return {};
    } catch (const RequestError& e) {
      EXPECT_EQ(std::string(e.what()), "parse request: " + e.detail());
      const bool limit = e.status() == 413 || e.status() == 414 || e.status() == 431;
      EXPECT_EQ(e.code(), limit ? std::error_code(sockit::errc::frame_too_large)
                                : std::make_error_code(std::errc::protocol_error));
      if (whole.status == 0) {
        whole = {e.status(), e.detail()};
      } else {
        EXPECT_EQ(e.status(), whole.status) << e.detail();
      }
    }
    if (::testing::Test::HasFailure()) break;
  }
  return whole;
}

int status_of(std::string_view wire, RequestLimits limits = {}) {
  return refusal(wire, limits).status;
}

void expect_refusal(std::string_view wire, RequestLimits limits, int status,
                    const std::string& detail) {
  const auto r = refusal(wire, limits);
  EXPECT_EQ(r.status, status);
  EXPECT_EQ(r.detail, detail);
}

void expect_refusal(std::string_view wire, int status, const std::string& detail) {
  expect_refusal(wire, {}, status, detail);
}

// ---- Requests that parse ----

TEST(HttpRequestParser, SimpleGet) {
  const auto r =
      parse_one("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  t/1 \r\n\r\n");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/index.html?q=1");
  EXPECT_EQ(r.version_minor, 1);
  EXPECT_EQ(r.request_line, "GET /index.html?q=1 HTTP/1.1");
  EXPECT_EQ(r.headers, (Fields{{"Host", "example.com"}, {"User-Agent", "t/1"}}));
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.expects_continue);
  EXPECT_EQ(r.content_length, 0U);
  EXPECT_FALSE(r.chunked);
  EXPECT_TRUE(r.body.empty());
}

TEST(HttpRequestParser, NoBodyIsDoneOnTheNextCallWithoutMoreInput) {
  RequestParser parser;
  const std::string_view wire = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /next";
  auto r = parser.parse(wire);
  ASSERT_EQ(r.event, RequestEvent::head);
  EXPECT_EQ(r.consumed, wire.size() - 9);
  EXPECT_FALSE(parser.done());
  r = parser.parse({});
  EXPECT_EQ(r.event, RequestEvent::done);
  EXPECT_EQ(r.consumed, 0U);
  EXPECT_TRUE(parser.done());
  // Parsing on without reset() stays done and takes nothing.
  r = parser.parse("GET /next");
  EXPECT_EQ(r.event, RequestEvent::done);
  EXPECT_EQ(r.consumed, 0U);
}

TEST(HttpRequestParser, BareLineFeedsAndHttp10) {
  const auto r = parse_one("GET /old HTTP/1.0\nAccept: */*\n\n");
  EXPECT_EQ(r.version_minor, 0);
  EXPECT_EQ(r.request_line, "GET /old HTTP/1.0");
  EXPECT_EQ(r.headers, (Fields{{"Accept", "*/*"}}));
  EXPECT_FALSE(r.keep_alive);
}

TEST(HttpRequestParser, OtherMinorVersionsAreAnsweredAs11) {
  const auto r = parse_one("GET / HTTP/1.7\r\nHost: h\r\n\r\n");
  EXPECT_EQ(r.version_minor, 1);
  EXPECT_EQ(r.request_line, "GET / HTTP/1.1");
}

TEST(HttpRequestParser, OtherTargetForms) {
  EXPECT_EQ(parse_one("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").target, "*");
  EXPECT_EQ(parse_one("GET http://h:8080/x?y HTTP/1.1\r\nHost: h:8080\r\n\r\n").target,
            "http://h:8080/x?y");
  EXPECT_EQ(parse_one("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n").target, "h:443");
  EXPECT_EQ(parse_one("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n").headers[0].second, "[::1]:80");
  EXPECT_EQ(parse_one("GET / HTTP/1.1\r\nHost:\r\n\r\n").headers[0].second, "");
}

TEST(HttpRequestParser, ContentLengthBody) {
  each_split("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
             [](const Fed& fed) {
               ASSERT_EQ(fed.requests.size(), 1U);
               const auto& r = fed.requests[0];
               EXPECT_TRUE(r.done);
               EXPECT_EQ(r.method, "POST");
               EXPECT_EQ(r.content_length, 11U);
               EXPECT_EQ(r.body, "hello world");
             });
}

TEST(HttpRequestParser, EqualContentLengthsAreOne) {
  EXPECT_EQ(parse_one("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nok").body, "ok");
  EXPECT_EQ(
      parse_one("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok")
          .body,
      "ok");
  EXPECT_EQ(parse_one("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").content_length,
            0U);
}

TEST(HttpRequestParser, ChunkedWithExtensionsAndTrailers) {
  const auto r = parse_one(
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value;x=\"q;uoted\"\r\nhello\r\n"
      "6 ; ext\r\n world\r\n"
      "000A\r\n0123456789\r\n"
      "0;last\r\nX-Checksum: abc\r\nX-More:  1 \r\n\r\n");
  EXPECT_TRUE(r.chunked);
  EXPECT_FALSE(r.content_length);
  EXPECT_EQ(r.body, "hello world0123456789");
  EXPECT_EQ(r.trailers, (Fields{{"X-Checksum", "abc"}, {"X-More", "1"}}));
}

TEST(HttpRequestParser, ChunkedWithBareLineFeedsAndNoTrailers) {
  const auto r = parse_one(
      "PUT /c HTTP/1.1\nHost: h\nTransfer-Encoding: Chunked\n\n3\nabc\na\n0123456789\n0\n\n");
  EXPECT_EQ(r.body, "abc0123456789");
  EXPECT_TRUE(r.trailers.empty());
}

TEST(HttpRequestParser, PipelinedRequests) {
  const std::string wire =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
      "\r\n"  // a stray empty line between requests is skipped
      "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
      "GET /d HTTP/1.0\r\n\r\n"
      "GET /e HTTP/1.1\r\nHo";
  each_split(wire, [](const Fed& fed) {
    ASSERT_EQ(fed.requests.size(), 4U);
    EXPECT_EQ(fed.requests[0].target, "/a");
    EXPECT_TRUE(fed.requests[0].body.empty());
    EXPECT_EQ(fed.requests[1].target, "/b");
    EXPECT_EQ(fed.requests[1].body, "xyz");
    EXPECT_EQ(fed.requests[2].target, "/c");
    EXPECT_EQ(fed.requests[2].body, "ok");
    EXPECT_EQ(fed.requests[3].target, "/d");
    EXPECT_FALSE(fed.requests[3].keep_alive);
    for (const auto& r : fed.requests)
      EXPECT_TRUE(r.done);
  });
}

TEST(HttpRequestParser, PipelinedBytesAreLeftForTheNextRequest) {
  RequestParser parser;
  const std::string_view wire =
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n";
  std::string_view rest = wire;
  auto r = parser.parse(rest);
  ASSERT_EQ(r.event, RequestEvent::head);
  rest.remove_prefix(r.consumed);
  r = parser.parse(rest);
  ASSERT_EQ(r.event, RequestEvent::body);
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(r.body.data(), rest.data());
  rest.remove_prefix(r.consumed);
  r = parser.parse(rest);
  EXPECT_EQ(r.event, RequestEvent::done);
  EXPECT_EQ(r.consumed, 0U);
  EXPECT_EQ(rest, "GET / HTTP/1.1\r\n");
}

TEST(HttpRequestParser, EmptyLinesBeforeTheRequestLine) {
  RequestParser parser;
  EXPECT_EQ(parser.parse("\r\n\n\r").event, RequestEvent::need_more);
  EXPECT_FALSE(parser.head_started());
  EXPECT_EQ(parser.parse("\n").event, RequestEvent::need_more);
  EXPECT_FALSE(parser.head_started());
  EXPECT_EQ(parser.parse("G").event, RequestEvent::need_more);
  EXPECT_TRUE(parser.head_started());
  EXPECT_EQ(parser.parse("ET / HTTP/1.1\r\nHost: h\r\n").event, RequestEvent::need_more);
  EXPECT_TRUE(parser.head_started());
  EXPECT_FALSE(parser.head_complete());
  EXPECT_EQ(parser.parse("\r\n").event, RequestEvent::head);
  EXPECT_FALSE(parser.head_started());
  EXPECT_EQ(parser.head().method, "GET");
  EXPECT_EQ(parse_one("\r\n\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").target, "/");
}

TEST(HttpRequestParser, ResetReusesTheParser) {
  RequestParser parser;
  const std::string_view chunked =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: 1\r\n\r\n";
  const std::string_view plain = "GET /p HTTP/1.0\r\n\r\n";
  for (const auto wire : {chunked, plain, chunked}) {
    std::string_view rest = wire;
    RequestEvent event = RequestEvent::need_more;
    while (event != RequestEvent::done) {
      const auto r = parser.parse(rest);
      rest.remove_prefix(r.consumed);
      event = r.event;
      ASSERT_NE(event, RequestEvent::need_more);
    }
    EXPECT_EQ(parser.trailers().size(), wire == plain ? 0U : 1U);
    EXPECT_EQ(parser.body_bytes(), wire == plain ? 0U : 1U);
    EXPECT_EQ(parser.chunked(), wire != plain);
    EXPECT_EQ(parser.head().headers.size(), wire == plain ? 0U : 2U);
    parser.reset();
    EXPECT_FALSE(parser.done());
    EXPECT_FALSE(parser.content_length());
  }
}

// ---- keep-alive and 100-continue ----

TEST(HttpRequestParser, KeepAlive) {
  struct Case {
    const char* connection;  // nullptr: no Connection field
    bool http11;             // keep_alive() for HTTP/1.1
    bool http10;             // and for HTTP/1.0
  };
  const Case cases[] = {
      {nullptr, true, false},           {"close", false, false},
      {"Close", false, false},          {"keep-alive", true, true},
      {"KEEP-ALIVE", true, true},       {"Keep-Alive, CLOSE", false, false},
      {"foo, keep-alive ", true, true}, {"upgrade", true, false},
      {"closed", true, false},
  };
  for (const auto& c : cases) {
    for (const int minor : {0, 1}) {
      std::string wire = "GET / HTTP/1." + std::to_string(minor) + "\r\nHost: h\r\n";
      if (c.connection) wire += std::string("Connection: ") + c.connection + "\r\n";
      SCOPED_TRACE(wire);
      EXPECT_EQ(parse_one(wire + "\r\n").keep_alive, minor == 1 ? c.http11 : c.http10);
    }
  }
  // Several Connection fields are one list.
  EXPECT_FALSE(parse_one("GET / HTTP/1.1\r\nHost: h\r\nConnection: te\r\nConnection: close\r\n\r\n")
                   .keep_alive);
}

TEST(HttpRequestParser, ExpectContinue) {
  const std::string body_head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n";
  EXPECT_TRUE(parse_one(body_head + "Expect: 100-continue\r\n\r\nok").expects_continue);
  EXPECT_TRUE(parse_one(body_head + "expect: 100-Continue\r\n\r\nok").expects_continue);
  EXPECT_FALSE(parse_one(body_head + "\r\nok").expects_continue);
  EXPECT_FALSE(parse_one(body_head + "Expect: something-else\r\n\r\nok").expects_continue);
  EXPECT_FALSE(parse_one("POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok")
                   .expects_continue);
  // The server answers 100 Continue between the head and the body: the head comes alone.
  RequestParser parser;
  const auto r = parser.parse(body_head + "Expect: 100-continue\r\n\r\n");
  ASSERT_EQ(r.event, RequestEvent::head);
  EXPECT_TRUE(parser.head().expects_continue());
  EXPECT_EQ(parser.parse({}).event, RequestEvent::need_more);
}

// ---- Limits: exactly at the limit passes, one byte (or field) over is refused ----

std::string request_line_of(std::size_t size) {
  const std::string fixed = "GET / HTTP/1.1";  // 14 bytes
  return "GET /" + std::string(size - fixed.size(), 'a') + " HTTP/1.1";
}

TEST(HttpRequestParser, RequestLineLimit) {
  RequestLimits limits;
  limits.max_request_line = 64;
  for (const char* end : {"\r\n", "\n"}) {
    SCOPED_TRACE(end == std::string("\n") ? "LF" : "CRLF");
    const std::string fields = std::string(end) + "Host: h" + end + end;
    EXPECT_EQ(parse_one(request_line_of(64) + fields, limits).target.size(), 51U);
    expect_refusal(request_line_of(65) + fields, limits, 414, "request line longer than 64 bytes");
  }
  // The default limit, 8 KiB.
  EXPECT_EQ(parse_one(request_line_of(8192) + "\r\nHost: h\r\n\r\n").target.size(), 8179U);
  EXPECT_EQ(status_of(request_line_of(8193) + "\r\nHost: h\r\n\r\n"), 414);
}

TEST(HttpRequestParser, RequestLineLimitHoldsWhileTheLineArrives) {
  RequestLimits limits;
  limits.max_request_line = 64;
  const std::string line = request_line_of(64);
  {
    // The line at its limit, its CR too, waits for its LF.
    RequestParser parser(limits);
    EXPECT_EQ(parser.parse(line).event, RequestEvent::need_more);
    EXPECT_EQ(parser.parse("\r").event, RequestEvent::need_more);
    EXPECT_EQ(parser.parse("\nHost: h\r\n\r\n").event, RequestEvent::head);
  }
  {
    // One byte more with no line end in sight is refused at once, not buffered.
    RequestParser parser(limits);
    EXPECT_EQ(parser.parse(line).event, RequestEvent::need_more);
    try {
      parser.parse("a");
      FAIL() << "no error";
    } catch (const RequestError& e) {
      EXPECT_EQ(e.status(), 414);
    }
  }
  {
    RequestParser parser(limits);
    EXPECT_EQ(parser.parse(line + "\r").event, RequestEvent::need_more);
    EXPECT_THROW(parser.parse("x"), RequestError);
  }
  // A line that never ends costs at most the limit, whatever the pieces.
  RequestParser parser(limits);
  std::size_t fed = 0;
  try {
    for (; fed < 10 * 1024; ++fed)
      parser.parse(fed == 0 ? "G" : "x");
    FAIL() << "no error";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 414);
  }
  EXPECT_EQ(fed, 64U);  // the 65th byte
}

// A method too long for the request line, with a byte no method may hold past the limit:
// the same 414 however the bytes arrive (not a 400 when they come at once, which showed
// the later byte before the length).
TEST(HttpRequestParser, LongMethodWithABadByteAfterTheLimitIsTooLongInAnyPieces) {
  RequestLimits limits;
  limits.max_request_line = 64;
  expect_refusal(std::string(70, 'G') + "\\ / HTTP/1.1\r\nHost: h\r\n\r\n", limits, 414,
                 "request line longer than 64 bytes");
  // Within the limit, the bad byte is what counts.
  EXPECT_EQ(
      status_of(std::string(30, 'G') + "\\" + std::string(40, 'G') + " / HTTP/1.1\r\n", limits),
      400);
}

// A request line with no space before a bare CR waits for its line end (and on_request_line's
// verdict) in any pieces: a byte after the CR that no method may hold was refused at once
// when it came in a later piece, not when it came with the CR.
TEST(HttpRequestParser, BareCrInTheMethodWaitsForTheLineEndInAnyPieces) {
  each_split("GET\r\tx", [](const Fed& fed) { EXPECT_TRUE(fed.requests.empty()); });
  EXPECT_EQ(status_of("GET\r\tx / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

// Field lines of `bytes` bytes in all, each line end and the closing empty line included.
std::string fields_of_size(std::size_t bytes) {
  const std::string host = "Host: h\r\n";  // 9 bytes, and 2 for the closing CRLF
  return host + "X-Pad: " + std::string(bytes - host.size() - 2 - 9, 'p') + "\r\n\r\n";
}

TEST(HttpRequestParser, HeaderBytesLimit) {
  RequestLimits limits;
  limits.max_header_bytes = 256;
  ASSERT_EQ(fields_of_size(256).size(), 256U);
  EXPECT_EQ(parse_one("GET / HTTP/1.1\r\n" + fields_of_size(256), limits).headers.size(), 2U);
  expect_refusal("GET / HTTP/1.1\r\n" + fields_of_size(257), limits, 431,
                 "request head larger than 256 bytes");
  // The request line does not count against the head: it has its own limit.
  EXPECT_EQ(
      parse_one("GET /" + std::string(300, 'a') + " HTTP/1.1\r\n" + fields_of_size(256), limits)
          .target.size(),
      301U);
  // A head that never ends costs at most the limit.
  RequestParser parser(limits);
  parser.parse("GET / HTTP/1.1\r\n");
  EXPECT_THROW(for (int i = 0; i < 100; ++i) parser.parse("X-Endless: 0123456789abcdef\r\n"),
               RequestError);
}

TEST(HttpRequestParser, HeaderCountLimit) {
  RequestLimits limits;
  limits.max_headers = 10;
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 1; i < 10; ++i)
    head += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(parse_one(head + "\r\n", limits).headers.size(), 10U);
  expect_refusal(head + "X-11: v\r\n\r\n", limits, 431, "more than 10 header fields");
}

TEST(HttpRequestParser, ContentLengthLimit) {
  RequestLimits limits;
  limits.max_body = 100;
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ";
  EXPECT_EQ(parse_one(head + "100\r\n\r\n" + std::string(100, 'b'), limits).body.size(), 100U);
  // Refused at the head, before any body byte.
  expect_refusal(head + "101\r\n\r\n", limits, 413, "request body larger than 100 bytes");
  EXPECT_EQ(status_of(head + "99999999999999999999999\r\n\r\n"), 413);
  EXPECT_EQ(status_of(head + "1048577\r\n\r\n"), 413);  // the default limit, 1 MiB
}

TEST(HttpRequestParser, ChunkedBodyLimit) {
  RequestLimits limits;
  limits.max_body = 100;
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string fifty(50, 'c');
  const std::string at_limit = "32\r\n" + fifty + "\r\n32\r\n" + fifty + "\r\n0\r\n\r\n";
  EXPECT_EQ(parse_one(head + at_limit, limits).body.size(), 100U);
  // Refused as soon as the size line of the chunk that passes the limit arrives.
  expect_refusal(head + "32\r\n" + fifty + "\r\n33\r\n", limits, 413,
                 "request body larger than 100 bytes");
  EXPECT_EQ(status_of(head + "65\r\n", limits), 413);
  EXPECT_EQ(status_of(head + "ffffffffffffffffffff\r\n"), 413);
  EXPECT_EQ(status_of(head + "1000000000000000\r\n"), 413);
  // Many small chunks add up.
  std::string many = head;
  for (int i = 0; i < 101; ++i)
    many += "1\r\nx\r\n";
  EXPECT_EQ(status_of(many, limits), 413);
}

TEST(HttpRequestParser, ChunkSizeLineLimit) {
  RequestLimits limits;
  limits.max_chunk_line = 32;
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string line = "3;ext=" + std::string(26, 'e');  // 32 bytes
  EXPECT_EQ(parse_one(head + line + "\r\nabc\r\n0\r\n\r\n", limits).body, "abc");
  EXPECT_EQ(parse_one(head + line + "\nabc\n0\n\n", limits).body, "abc");
  expect_refusal(head + line + "e\r\nabc\r\n0\r\n\r\n", limits, 400,
                 "chunk size line longer than 32 bytes");
  EXPECT_EQ(status_of(head + "3;" + std::string(5000, 'e')), 400);  // never ending
}

TEST(HttpRequestParser, TrailerLimits) {
  RequestLimits limits;
  limits.max_header_bytes = 256;
  limits.max_headers = 4;
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  // The trailer section is bounded like the head, and counted afresh.
  EXPECT_EQ(parse_one(head + fields_of_size(256), limits).trailers.size(), 2U);
  expect_refusal(head + fields_of_size(257), limits, 431, "trailer section larger than 256 bytes");
  EXPECT_EQ(parse_one(head + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits).trailers.size(), 4U);
  expect_refusal(head + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", limits, 431,
                 "more than 4 trailer fields");
  EXPECT_EQ(status_of(head + "Bad Name: 1\r\n\r\n"), 400);
}

TEST(HttpRequestParser, EmptyLinesBeforeTheRequestAreBounded) {
  RequestLimits limits;
  limits.max_request_line = 16;
  EXPECT_EQ(parse_one(std::string(16, '\n') + "GET / HTTP/1.0\r\n\r\n", limits).target, "/");
  EXPECT_EQ(status_of(std::string(17, '\n') + "GET / HTTP/1.0\r\n\r\n", limits), 400);
}

// ---- Refusals ----

TEST(HttpRequestParser, HostIsRequiredOnceInHttp11) {
  expect_refusal("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400,
                 "no Host header (HTTP/1.1 requires one)");
  expect_refusal("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host header");
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  for (const std::string host : {"a b", "a/b", "user@a", "a?b", "a\\b"}) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"), 400) << host;
  }
  EXPECT_TRUE(parse_one("GET / HTTP/1.0\r\n\r\n").done);
}

TEST(HttpRequestParser, Versions) {
  expect_refusal("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505,
                 "unsupported version 'HTTP/2.0' (expected HTTP/1.x)");
  EXPECT_EQ(status_of("GET / HTTP/0.9\r\n\r\n"), 505);
  EXPECT_EQ(status_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
  // HTTP/0.9: no version at all.
  expect_refusal("GET /\r\n", 400, "no HTTP version in request line 'GET /'");
  for (const std::string version :
       {"http/1.1", "HTTP/1", "HTTP/1.10", "HTTP/1.1 ", "HTTP/2", "1.1"}) {
    EXPECT_EQ(status_of("GET / " + version + "\r\nHost: h\r\n\r\n"), 400) << version;
  }
}

TEST(HttpRequestParser, MalformedRequestLines) {
  expect_refusal("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400,
                 "malformed request line 'G(T / HTTP/1.1'");
  EXPECT_EQ(status_of("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(status_of(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  constexpr char nul[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(status_of(std::string(nul, sizeof nul - 1)), 400);
  EXPECT_EQ(status_of("GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\r\nHost: h\r\n\r\n"), 400);
  expect_refusal("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request target '/\\x01'");
}

TEST(HttpRequestParser, GarbageIsRefusedOnItsFirstBytes) {
  // A TLS ClientHello on the plain port: refused without waiting for a line end.
  RequestParser parser;
  try {
    parser.parse("\x16\x03\x01\x02");
    FAIL() << "no error";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.detail(), "malformed request line '\\x16\\x03\\x01\\x02'");
  }
  RequestParser bytewise;
  EXPECT_EQ(bytewise.parse("G").event, RequestEvent::need_more);
  EXPECT_THROW(bytewise.parse("<"), RequestError);
  EXPECT_EQ(status_of("SSH-2.0-OpenSSH_9.2\r\n"), 400);  // a token, then no spaces
}

TEST(HttpRequestParser, TransferEncodings) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\n";
  expect_refusal(head + "Transfer-Encoding: gzip\r\n\r\n", 501,
                 "unsupported transfer-encoding 'gzip'");
  EXPECT_EQ(status_of(head + "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(status_of(head + "Transfer-Encoding: identity\r\n\r\n"), 501);
  EXPECT_EQ(status_of(head + "Transfer-Encoding: chunked, gzip\r\n\r\n"), 501);
  expect_refusal(head + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
                 "transfer-encoding must end with a single 'chunked'");
  EXPECT_EQ(status_of(head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
            400);
  EXPECT_EQ(status_of(head + "Transfer-Encoding: \r\n\r\n"), 400);
  // Both framings: a request smuggling attempt.
  expect_refusal(head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
                 "both Transfer-Encoding and Content-Length");
  EXPECT_EQ(status_of(head + "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
  // Several fields are one list; case does not matter.
  EXPECT_EQ(parse_one(head + "transfer-encoding: CHUNKED\r\n\r\n1\r\nz\r\n0\r\n\r\n").body, "z");
}

TEST(HttpRequestParser, ContentLengths) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\n";
  for (const char* bad : {"+5", "-5", "5 5", "5a", "0x5", "", "5,", ",5", "5;", "1e3"}) {
    SCOPED_TRACE(bad);
    expect_refusal(head + "Content-Length: " + bad + "\r\n\r\nhello", 400,
                   std::string("invalid content-length '") + bad + "'");
  }
  expect_refusal(head + "Content-Length: 5, 6\r\n\r\nhello!", 400,
                 "conflicting content-length values");
  EXPECT_EQ(status_of(head + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), 400);
  EXPECT_EQ(parse_one(head + "Content-Length:  007 \r\n\r\n1234567").body, "1234567");
}

TEST(HttpRequestParser, MalformedFieldLines) {
  const std::string line = "GET / HTTP/1.1\r\nHost: h\r\n";
  expect_refusal(line + "X-Folded: a\r\n b\r\n\r\n", 400, "obsolete line folding ' b'");
  EXPECT_EQ(status_of(line + "X-Folded: a\r\n\tb\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
  expect_refusal(line + "X-Space : v\r\n\r\n", 400, "malformed header name 'X-Space '");
  EXPECT_EQ(refusal(line + "No colon\r\n\r\n").detail, "malformed header line 'No colon'");
  EXPECT_EQ(status_of(line + ": v\r\n\r\n"), 400);
  EXPECT_EQ(status_of(line + "X(y): v\r\n\r\n"), 400);
  expect_refusal(line + std::string("X-Nul: a\0b\r\n\r\n", 14), 400,
                 "malformed value of header 'X-Nul'");
  EXPECT_EQ(status_of(line + "X-Cr: a\rb\r\n\r\n"), 400);
  // A value may hold any other byte, and colons.
  EXPECT_EQ(parse_one(line + "X-Url: http://h:1/x\r\n\r\n").headers[1].second, "http://h:1/x");
}

TEST(HttpRequestParser, HostileChunks) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  expect_refusal(head + "xyz\r\n", 400, "malformed chunk size line 'xyz'");
  EXPECT_EQ(status_of(head + "-5\r\n"), 400);
  EXPECT_EQ(status_of(head + "\r\n"), 400);
  EXPECT_EQ(status_of(head + ";ext\r\n"), 400);
  expect_refusal(head + "3\r\nabcdef\r\n", 400, "missing CRLF after chunk data");
  EXPECT_EQ(status_of(head + "3\r\nabc\r\r\n"), 400);
  EXPECT_EQ(status_of(head + "0\r\n folded: trailer\r\n\r\n"), 400);
}

// Hostile bytes: mutated requests, fed in random pieces, either parse or are refused with a
// RequestError of a status the header names; nothing else escapes and nothing grows past
// its limit (the sanitizers watch the memory).
TEST(HttpRequestParser, MutatedRequestsParseOrAreRefused) {
  const std::string seed =
      "POST /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n"
      "GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
  RequestLimits limits;
  limits.max_request_line = 40;
  limits.max_header_bytes = 80;
  limits.max_headers = 4;
  limits.max_body = 16;
  limits.max_chunk_line = 8;
  std::mt19937 random(20240611);
  constexpr char alphabet[] = "\r\n :;,0123456789abcdefHTP/.-\t\x00\x7f\xc3GOSchunked";
  for (int round = 0; round < 3000; ++round) {
    std::string wire = seed;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % wire.size();
      const char c = alphabet[random() % (sizeof alphabet - 1)];
      switch (random() % 3) {
        case 0:
          wire[at] = c;
          break;
        case 1:
          wire.insert(wire.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          wire.erase(at, 1);
          break;
      }
    }
    std::vector<std::string_view> pieces;
    for (std::size_t at = 0; at < wire.size();) {
      const std::size_t n = round % 2 == 0 ? wire.size() : 1 + random() % 9;
      pieces.push_back(std::string_view(wire).substr(at, n));
      at += n;
    }
    try {
      feed_pieces(pieces, limits);
    } catch (const RequestError& e) {
      const int status = e.status();
      EXPECT_TRUE(status == 400 || status == 413 || status == 414 || status == 431 ||
                  status == 501 || status == 505)
          << status << " " << e.detail();
      EXPECT_FALSE(e.detail().empty());
    }
    if (HasFailure()) {
      ADD_FAILURE() << "input: " << wire;
      break;
    }
  }
}

TEST(HttpRequestParser, ErrorsCarryTheirStatusAndCode) {
  RequestLimits limits;
  limits.max_request_line = 10;
  RequestParser parser(limits);
  try {
    parser.parse("GET /0123456789 HTTP/1.1\r\n");
    FAIL() << "no error";
  } catch (const sockit::Error& e) {
    const auto* request = dynamic_cast<const RequestError*>(&e);
    ASSERT_NE(request, nullptr);
    EXPECT_EQ(request->status(), 414);
    EXPECT_EQ(e.code(), sockit::errc::frame_too_large);
    EXPECT_EQ(std::string(e.what()), "parse request: request line longer than 10 bytes");
  }
}

}  // namespace
