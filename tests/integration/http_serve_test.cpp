// `sockit serve http` on every architecture: files, HEAD, persistence, pipelining, a large
// streamed body, errors, and curl reusing one connection for two URLs. One server per
// architecture runs every check, so the matrix stays cheap.
#include <gtest/gtest.h>

#include <string>

#include "integration/cli_helpers.hpp"
#include "integration/http_fixture.hpp"

namespace sockit::test {
namespace {

class HttpServe : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpServe, ServesFilesOverOneConnection) {
  Site site;
  ServeProcess server("http", GetParam(), {"--root", site.root(), "--quiet"});
  ASSERT_TRUE(server.ok());

  HttpConnection conn(server.port);
  auto index = conn.request("GET", "/");
  EXPECT_EQ(index.status, 200) << index.head;
  EXPECT_EQ(index.body, Site::index_html());
  EXPECT_EQ(index.field("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.field("Server"), "sockit");
  EXPECT_FALSE(index.field("Date").empty());

  // HEAD: the GET's length, no body: the next answer on the connection starts clean.
  auto head = conn.request("HEAD", "/big.bin");
  EXPECT_EQ(head.status, 200) << head.head;
  EXPECT_EQ(head.field("Content-Length"), std::to_string(binary_payload().size()));
  EXPECT_TRUE(head.body.empty());
  auto hello = conn.request("GET", "/hello.txt");
  EXPECT_EQ(hello.status, 200) << hello.head;
  EXPECT_EQ(hello.body, "hello, world\n");

  // Two requests in one write: two answers, in order.
  conn.send(
      "GET /docs/readme.txt HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = conn.read();
  auto second = conn.read();
  EXPECT_EQ(first.body, "read me\n");
  EXPECT_EQ(second.body, "hello, world\n");

  // A body larger than one write, streamed as the client reads it, byte-exact.
  auto big = conn.request("GET", "/big.bin");
  EXPECT_EQ(big.status, 200);
  EXPECT_TRUE(big.body == binary_payload()) << "big.bin differs (" << big.body.size() << " bytes)";

  auto missing = conn.request("GET", "/nope.txt");
  EXPECT_EQ(missing.status, 404);
  auto post = conn.request("POST", "/hello.txt", "Content-Length: 3\r\n\r\nabc");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.field("Allow"), "GET, HEAD");

  // The connection is still usable after all that.
  auto last = conn.request("GET", "/hello.txt", "Connection: close\r\n");
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.field("Connection"), "close");
  conn.client().read_to_eof(std::chrono::seconds(10));
  EXPECT_TRUE(conn.client().eof());

  // curl fetches two URLs over one connection.
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port);
  auto curl = run({"curl", "-sS", "-v", base + "/hello.txt", base + "/docs/readme.txt"});
  ASSERT_EQ(curl.status.code, 0) << describe(curl);
  EXPECT_EQ(curl.out, "hello, world\nread me\n");
  EXPECT_NE(curl.err.find("Re-using existing connection"), std::string::npos) << curl.err;

  auto stopped = server.terminate();
  EXPECT_TRUE(stopped.exited && stopped.code == 0) << server.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Architectures, HttpServe, ::testing::ValuesIn(all_architectures()),
                         arch_param_name);

}  // namespace
}  // namespace sockit::test
