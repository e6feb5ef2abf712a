// Cost of the HTTP response parser: a typical response head (12 header fields) with a
// small Content-Length body, the same fed in 7-byte pieces (the worst split a slow peer
// gives), and chunked bodies of 4 KiB chunks fed in 16 KiB reads. The parser is reset and
// reused, as a client on a keep-alive connection would.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "sockit/http.hpp"

namespace {

using sockit::http::ParseEvent;
using sockit::http::ResponseParser;

constexpr std::size_t kReadSize = 16 * 1024;

std::string typical_head(std::string_view framing) {
  return std::string(
             "HTTP/1.1 200 OK\r\n"
             "Date: Thu, 26 Nov 2026 01:56:04 GMT\r\n"
             "Server: nginx/1.22.1\r\n"
             "Content-Type: application/json; charset=utf-8\r\n"
             "Cache-Control: no-cache, no-store, must-revalidate\r\n"
             "Vary: Accept-Encoding\r\n"
             "X-Request-Id: 5f2b8c1e-9d4a-4c3b-8e7f-1a2b3c4d5e6f\r\n"
             "X-Frame-Options: SAMEORIGIN\r\n"
             "X-Content-Type-Options: nosniff\r\n"
             "Strict-Transport-Security: max-age=31536000\r\n"
             "ETag: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"\r\n"
             "Connection: keep-alive\r\n") +
         std::string(framing) + "\r\n\r\n";
}

// Parses `wire` fed in `piece`-byte reads; returns the body bytes seen.
std::size_t parse_all(ResponseParser& parser, std::string_view wire, std::size_t piece) {
  std::size_t body = 0;
  for (std::size_t at = 0; at < wire.size(); at += piece) {
    std::string_view input = wire.substr(at, piece);
    for (;;) {
      const auto r = parser.parse(input);
      input.remove_prefix(r.consumed);
      if (r.event == ParseEvent::body) body += r.body.size();
      if (r.event == ParseEvent::need_more || r.event == ParseEvent::done) break;
    }
  }
  return body;
}

void run(benchmark::State& state, const std::string& wire, std::size_t piece) {
  ResponseParser parser;
  std::size_t body = 0;
  for (auto _ : state) {
    parser.reset();
    body = parse_all(parser, wire, piece);
    benchmark::DoNotOptimize(body);
    if (!parser.done()) state.SkipWithError("response not complete");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_HeadContentLength(benchmark::State& state) {
  const std::string body(256, 'x');
  const std::string wire = typical_head("Content-Length: 256") + body;
  run(state, wire, kReadSize);
}
BENCHMARK(BM_HeadContentLength);

void BM_HeadContentLength7ByteReads(benchmark::State& state) {
  const std::string body(256, 'x');
  const std::string wire = typical_head("Content-Length: 256") + body;
  run(state, wire, 7);
}
BENCHMARK(BM_HeadContentLength7ByteReads);

void BM_ChunkedBody(benchmark::State& state) {
  const auto total = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t chunk = 4096;
  std::string wire = typical_head("Transfer-Encoding: chunked");
  const std::string data(chunk, 'y');
  for (std::size_t sent = 0; sent < total; sent += chunk) {
    wire += "1000;ext=1\r\n";
    wire += data;
    wire += "\r\n";
  }
  wire += "0\r\n\r\n";
  run(state, wire, kReadSize);
}
BENCHMARK(BM_ChunkedBody)->Arg(64 * 1024)->Arg(1024 * 1024);

}  // namespace
