// The HTTP response parser fed a server's bytes in fuzzer-chosen pieces, responses
// back to back as on a kept-alive connection: what it reports (heads, body bytes,
// trailers, the end of each response, the error) must not depend on the pieces; a head
// stays within the limits; a Content-Length body is exactly that long; nothing but
// ProtocolError is thrown.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "sockit/http/response_parser.hpp"

namespace {

using sockit::http::BodyFraming;
using sockit::http::Headers;
using sockit::http::ParseEvent;
using sockit::http::ProtocolError;
using sockit::http::ResponseParser;

void describe(const Headers& headers, std::string& trace) {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    trace.append(headers[i].name).append(": ").append(headers[i].value).append("\n");
  }
}

class Run {
 public:
  Run(sockit::http::ParserLimits limits, bool head_request)
      : limits_(limits), parser_(limits), head_request_(head_request) {
    if (head_request_) parser_.expect_no_body();
  }

  // Everything the parser reported, as text.
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
          case ParseEvent::need_more:
            FUZZ_CHECK(input.empty());
            return;
          case ParseEvent::head:
            on_head();
            break;
          case ParseEvent::body:
            FUZZ_CHECK(!result.body.empty());
            if (!in_body_) trace_ += "\nbody ";
            in_body_ = true;
            trace_.append(result.body);
            body_ += result.body.size();
            FUZZ_CHECK(parser_.body_bytes() == body_);
            break;
          case ParseEvent::done:
            on_done();
            break;
        }
      }
    } catch (const ProtocolError& e) {
      fail(e);
    }
  }

  void finish() {
    if (failed_) return;
    try {
      parser_.finish();
      if (parser_.head_complete()) on_done();
    } catch (const ProtocolError& e) {
      fail(e);
    }
  }

 private:
  void on_head() {
    const auto& head = parser_.head();
    FUZZ_CHECK(head.status >= 100 && head.status <= 999);
    FUZZ_CHECK(head.status >= 200 || head.status == 101);  // 1xx heads are skipped
    FUZZ_CHECK(head.headers.size() <= limits_.max_headers);
    FUZZ_CHECK(parser_.interim_responses() <= limits_.max_interim_responses);
    trace_ += "\nhead " + head.status_line() + "\n";
    describe(head.headers, trace_);
    in_body_ = false;
    body_ = 0;
  }

  void on_done() {
    if (parser_.framing() == BodyFraming::content_length) {
      FUZZ_CHECK(parser_.content_length().has_value());
      FUZZ_CHECK(*parser_.content_length() == body_);
    }
    if (parser_.framing() == BodyFraming::none) FUZZ_CHECK(body_ == 0);
    FUZZ_CHECK(parser_.trailers().size() <= limits_.max_headers);
    trace_ += "\ndone\n";
    describe(parser_.trailers(), trace_);
    in_body_ = false;
    parser_.reset();
    if (head_request_) parser_.expect_no_body();
  }

  void fail(const ProtocolError& e) {
    FUZZ_CHECK(e.code() == sockit::errc::frame_too_large ||
               e.code() == sockit::errc::connection_closed ||
               e.code() == std::errc::protocol_error);
    trace_ += "\nerror " + e.code().message();
    failed_ = true;
  }

  sockit::http::ParserLimits limits_;
  ResponseParser parser_;
  bool head_request_;
  std::string trace_;
  bool in_body_ = false;
  bool failed_ = false;
  std::uint64_t body_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  sockit::http::ParserLimits limits;
  if ((input.choice & 0x40) != 0) limits = {256, 8, 32, 2};
  const bool head_request = (input.choice & 0x80) != 0;

  Run whole(limits, head_request);
  whole.feed(input.message);
  whole.finish();
  Run split(limits, head_request);
  for (std::string_view piece : sockit::fuzz::pieces(input.choice & 0x3f, input.message)) {
    split.feed(piece);
  }
  split.finish();
  FUZZ_CHECK(whole.trace() == split.trace());
  return 0;
}
