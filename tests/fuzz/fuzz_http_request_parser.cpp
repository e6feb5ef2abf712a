// The HTTP request parser fed a client's bytes in fuzzer-chosen pieces, requests
// pipelined back to back: what it reports (heads, body bytes, trailers, the end of each
// request, the status of a refusal) must not depend on the pieces; the limits hold; a
// Content-Length body is exactly that long; nothing but RequestError is thrown, with one
// of the statuses the header documents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/http/request_parser.hpp"

namespace {

using sockit::http::Headers;
using sockit::http::RequestError;
using sockit::http::RequestEvent;
using sockit::http::RequestLimits;
using sockit::http::RequestParser;

void describe(const Headers& headers, std::string& trace) {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto field = headers[i];
    FUZZ_CHECK(!field.name.empty());
    FUZZ_CHECK(field.value.find_first_of(std::string_view("\0\r\n", 3)) == std::string_view::npos);
    trace.append(field.name).append(": ").append(field.value).append("\n");
  }
}

class Run {
 public:
  explicit Run(RequestLimits limits) : parser_(limits) {}

  const std::string& trace() const noexcept { return trace_; }

  void feed(std::string_view input) {
    if (failed_) return;
    const std::size_t most_rounds = 4 * input.size() + 16;
    try {
      for (std::size_t rounds = 0;; ++rounds) {
        FUZZ_CHECK(rounds <= most_rounds);  // every event makes progress
        const auto result = parser_.parse(input);
        FUZZ_CHECK(result.consumed <= input.size());
        input.remove_prefix(result.consumed);
        switch (result.event) {
          case RequestEvent::need_more:
            FUZZ_CHECK(input.empty());
            FUZZ_CHECK(!parser_.done());
            return;
          case RequestEvent::head:
            on_head();
            break;
          case RequestEvent::body:
            FUZZ_CHECK(!result.body.empty());
            if (!in_body_) trace_ += "\nbody ";
            in_body_ = true;
            trace_.append(result.body);
            body_ += result.body.size();
            FUZZ_CHECK(parser_.body_bytes() == body_);
            FUZZ_CHECK(body_ <= parser_.limits().max_body);
            break;
          case RequestEvent::done:
            on_done();
            break;
        }
      }
    } catch (const RequestError& e) {
      const int status = e.status();
      FUZZ_CHECK(status == 400 || status == 413 || status == 414 || status == 431 ||
                 status == 501 || status == 505);
      trace_ += "\nerror " + std::to_string(status);
      failed_ = true;
    }
  }

 private:
  void on_head() {
    FUZZ_CHECK(parser_.head_complete());
    const auto& head = parser_.head();
    FUZZ_CHECK(!head.method.empty() && !head.target.empty());
    FUZZ_CHECK(head.version_minor >= 0 && head.version_minor <= 9);
    FUZZ_CHECK(head.method.size() + head.target.size() + 10 <= parser_.limits().max_request_line);
    FUZZ_CHECK(head.headers.size() <= parser_.limits().max_headers);
    if (parser_.chunked()) FUZZ_CHECK(!head.headers.contains("content-length"));
    trace_ += "\nhead " + head.request_line() + "\n";
    describe(head.headers, trace_);
    in_body_ = false;
    body_ = 0;
  }

  void on_done() {
    FUZZ_CHECK(parser_.done());
    if (!parser_.chunked()) {
      FUZZ_CHECK(parser_.content_length().value_or(0) == body_);
    }
    FUZZ_CHECK(parser_.trailers().size() <= parser_.limits().max_headers);
    trace_ += "\ndone\n";
    describe(parser_.trailers(), trace_);
    in_body_ = false;
    parser_.reset();
    FUZZ_CHECK(!parser_.head_started());
  }

  RequestParser parser_;
  std::string trace_;
  bool in_body_ = false;
  bool failed_ = false;
  std::uint64_t body_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  RequestLimits limits;
  if ((input.choice & 0x40) != 0) limits = {64, 256, 8, 100, 32};

  Run whole(limits);
  whole.feed(input.message);
  Run split(limits);
  for (std::string_view piece : sockit::fuzz::pieces(input.choice & 0x3f, input.message)) {
    split.feed(piece);
  }
  FUZZ_CHECK(whole.trace() == split.trace());
  return 0;
}
