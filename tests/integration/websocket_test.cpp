// `sockit serve http --ws-echo /echo` against a WebSocket client not written here (Python's
// websockets library, tests/integration/websocket_client.py): the handshake, echo of text,
// binary and fragmented messages, ping, the close handshake, and the violations that close
// with 1009 and 1007; and from raw sockets, what that client will not send: an unmasked
// frame (1002), a refused handshake, an upgrade with a body, frames arriving with the
// upgrade request, and a client that never answers the server's pings.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "integration/cli_helpers.hpp"
#include "integration/http_fixture.hpp"
#include "sockit/websocket/frame_codec.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {
namespace {

const char* const kPython = "/usr/bin/python3";

std::string client_script() {
  return std::string(SOCKIT_SOURCE_DIR) + "/tests/integration/websocket_client.py";
}

const std::vector<std::string>& websocket_architectures() {
  static const std::vector<std::string> archs{"reactor", "pool", "uring"};
  return archs;
}

class WebSocketServe : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_.emplace("http", GetParam(),
                    std::vector<std::string>{"--root", site_.root(), "--quiet", "--ws-echo",
                                             "/echo", "--ws-max-message", "65536"});
    ASSERT_TRUE(server_->ok());
  }
  void TearDown() override {
    if (!server_ || !server_->ok()) return;
    auto stopped = server_->terminate();
    EXPECT_TRUE(stopped.exited && stopped.code == 0) << server_->process->stderr_text();
  }

  // What the Python client printed for one check; empty (and the test skipped or failed)
  // when the websockets library is missing.
  std::string python(const std::string& check) {
    const std::string url = "ws://127.0.0.1:" + std::to_string(server_->port) + "/echo";
    Finished f = run({kPython, client_script(), url, check});
    if (f.status.exited && f.status.code == 2 && f.out.find("missing websockets") == 0) {
      missing_ = true;
      return {};
    }
    EXPECT_TRUE(f.status.exited && f.status.code == 0) << check << ": " << describe(f);
    while (!f.out.empty() && f.out.back() == '\n')
      f.out.pop_back();
    return f.out;
  }
  bool missing_library() const { return missing_; }

  // An upgrade request for `path` with a valid key.
  static std::string upgrade_request(std::string_view path, std::string_view version = "13") {
    std::string r = "GET ";
    r += path;
    r += " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    r += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ";
    r += version;
    r += "\r\n\r\n";
    return r;
  }

  Site site_;
  std::optional<ServeProcess> server_;
  bool missing_ = false;
};

TEST_P(WebSocketServe, PythonClientIsEchoedAndClosedWithTheRightCodes) {
  const std::string text = python("text");
  if (missing_library()) SOCKIT_MISSING_TOOL("python3-websockets");
  EXPECT_EQ(text, "text h\u00e9llo, w\u00f6rld \u2603");
  EXPECT_EQ(python("binary"), "binary 25600 True");
  EXPECT_EQ(python("fragmented"), "fragmented fragmented");
  EXPECT_EQ(python("ping"), "pong");
  // 1 MiB against --ws-max-message 65536: refused at the frame's header.
  EXPECT_EQ(python("too_big"), "closed 1009");
  EXPECT_EQ(python("invalid_utf8"), "closed 1007");
  // The client's code comes back in the server's close frame.
  EXPECT_EQ(python("close"), "closed 4001 True");
}

TEST_P(WebSocketServe, UnmaskedFrameIsClosedWith1002) {
  Client client(server_->port);
  client.send(upgrade_request("/echo"));
  const std::string& head = client.read_until_from(0, "\r\n\r\n", std::chrono::seconds(20));
  const auto end = head.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << head;
  ASSERT_EQ(head.substr(0, 12), "HTTP/1.1 101") << head;
  EXPECT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos)
      << head;
  const std::size_t frame_at = end + 4;
  // A client's frame without a mask: "hi" as text.
  client.send(std::string("\x81\x02hi", 4));
  const std::string all = client.read_to_eof();
  EXPECT_TRUE(client.eof());
  ASSERT_GE(all.size(), frame_at + 4) << all.substr(frame_at);
  EXPECT_EQ(static_cast<unsigned char>(all[frame_at]), 0x88);  // close, final
  EXPECT_EQ(static_cast<unsigned char>(all[frame_at + 2]), 0x03);
  EXPECT_EQ(static_cast<unsigned char>(all[frame_at + 3]), 0xea);  // 1002
}

// A client that never answers: pinged after --ws-ping seconds of silence, then closed with
// 1011 after as long again, and the connection ends.
TEST_P(WebSocketServe, ASilentClientIsPingedThenClosed) {
  ServeProcess pinging(
      "http", GetParam(),
      {"--root", site_.root(), "--quiet", "--ws-echo", "/echo", "--ws-ping", "0.3"});
  ASSERT_TRUE(pinging.ok());
  Client client(pinging.port);
  client.send(upgrade_request("/echo"));
  const std::string all = client.read_to_eof();
  EXPECT_TRUE(client.eof());
  const auto end = all.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << all;
  ASSERT_EQ(all.substr(0, 12), "HTTP/1.1 101") << all;
  // A ping with no payload, then a close frame with 1011 and its reason.
  const std::string frames = all.substr(end + 4);
  ASSERT_GE(frames.size(), 6U) << frames;
  EXPECT_EQ(frames.substr(0, 2), std::string("\x89\x00", 2));
  EXPECT_EQ(static_cast<unsigned char>(frames[2]), 0x88);
  EXPECT_EQ(static_cast<unsigned char>(frames[4]) << 8 | static_cast<unsigned char>(frames[5]),
            1011);
  EXPECT_NE(frames.find("no answer to ping"), std::string::npos);
  auto stopped = pinging.terminate();
  EXPECT_TRUE(stopped.exited && stopped.code == 0) << pinging.process->stderr_text();
}

TEST_P(WebSocketServe, RefusedHandshakeIsAnAnswerAndAClose) {
  Client client(server_->port);
  client.send(upgrade_request("/echo", "8"));
  const std::string all = client.read_to_eof();
  EXPECT_TRUE(client.eof());
  EXPECT_EQ(all.substr(0, 12), "HTTP/1.1 426") << all;
  EXPECT_NE(all.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << all;
}

TEST_P(WebSocketServe, UpgradeRequestWithABodyIs400) {
  Client client(server_->port);
  std::string request = upgrade_request("/echo");
  request.insert(request.size() - 2, "Content-Length: 3\r\n");
  client.send(request + "abc");
  const std::string all = client.read_to_eof();
  EXPECT_TRUE(client.eof());
  EXPECT_EQ(all.substr(0, 12), "HTTP/1.1 400") << all;
}

TEST_P(WebSocketServe, PipelinedRequestAndFramesAfterTheUpgradeAreServedInOrder) {
  HttpConnection conn(server_->port);
  std::string frame;
  websocket::FrameWriter::client(websocket::system_random())
      .append(frame, websocket::Opcode::text, "right behind the head");
  // A plain request, the upgrade and a frame in one write: the file's answer first, then
  // the 101, then the echo.
  conn.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n" + upgrade_request("/echo") + frame);
  const HttpReply hello = conn.read();
  EXPECT_EQ(hello.status, 200);
  EXPECT_EQ(hello.body, "hello, world\n");
  const HttpReply upgraded = conn.read();
  EXPECT_EQ(upgraded.status, 101) << upgraded.head;
  const std::string expected = std::string("\x81\x15", 2) + "right behind the head";
  const std::string& all = conn.client().read_until_from(0, expected, std::chrono::seconds(20));
  EXPECT_NE(all.find(expected), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Architectures, WebSocketServe,
                         ::testing::ValuesIn(websocket_architectures()), arch_param_name);

}  // namespace
}  // namespace sockit::test
