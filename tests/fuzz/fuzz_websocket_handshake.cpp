// The WebSocket opening handshake fed a peer's HTTP head. First byte even: the bytes are a
// client's upgrade request, parsed by the request parser and checked by accept_upgrade(),
// which never throws and answers 101 (with the Sec-WebSocket-Accept for the request's valid
// key), 400, 403, 405 or 426; every answer's bytes parse as a response with that status.
// Odd: the bytes are a server's answer to a client whose key is fixed, checked by
// ClientHandshake::verify(), which accepts only a 101 with the right Sec-WebSocket-Accept
// and otherwise throws sockit::Error(protocol_error) alone.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/error.hpp"
#include "sockit/http/request_parser.hpp"
#include "sockit/http/response_parser.hpp"
#include "sockit/websocket/frame_codec.hpp"
#include "sockit/websocket/handshake.hpp"

namespace {

void server_side(std::string_view bytes) {
  sockit::http::RequestParser parser;
  try {
    if (parser.parse(bytes).event != sockit::http::RequestEvent::head) return;
  } catch (const sockit::http::RequestError&) {
    return;
  }
  sockit::websocket::ServerHandshakeOptions options;
  options.allowed_origins = {"https://chat.example.com"};
  const auto answer = sockit::websocket::accept_upgrade(parser.head(), options);
  const int status = answer.status;
  FUZZ_CHECK(status == 101 || status == 400 || status == 403 || status == 405 || status == 426);
  if (answer.accepted()) {
    const auto key = parser.head().headers.get("sec-websocket-key");
    FUZZ_CHECK(key && sockit::websocket::valid_key(*key));
    FUZZ_CHECK(answer.headers.get("sec-websocket-accept") == sockit::websocket::accept_key(*key));
    FUZZ_CHECK(sockit::websocket::is_upgrade_request(parser.head()));
  } else {
    FUZZ_CHECK(!answer.detail.empty());
  }
  const std::string wire = answer.to_bytes();
  sockit::http::ResponseParser response;
  try {
    FUZZ_CHECK(response.parse(wire).event == sockit::http::ParseEvent::head);
  } catch (const sockit::http::ProtocolError&) {
    FUZZ_CHECK(!"the answer parses as a response");
  }
  FUZZ_CHECK(response.head().status == status);
}

void client_side(std::string_view bytes) {
  static const sockit::websocket::ClientHandshake client("example.com", "/chat",
                                                         [](std::span<std::uint8_t> out) {
                                                           for (auto& b : out)
                                                             b = 0;
                                                         });
  sockit::http::ResponseParser parser;
  try {
    if (parser.parse(bytes).event != sockit::http::ParseEvent::head) return;
  } catch (const sockit::http::ProtocolError&) {
    return;
  }
  try {
    client.verify(parser.head());
  } catch (const sockit::Error& e) {
    FUZZ_CHECK(e.code() == std::errc::protocol_error);
    return;
  }
  FUZZ_CHECK(parser.head().status == 101);
  FUZZ_CHECK(parser.head().headers.get("sec-websocket-accept") ==
             sockit::websocket::accept_key(client.key()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  if ((input.choice & 1) == 0) {
    server_side(input.message);
  } else {
    client_side(input.message);
  }
  return 0;
}
