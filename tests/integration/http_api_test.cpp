// examples/http_api_server (routes in C++ beside static files) driven by curl: JSON in and
// out, 100-continue and chunked uploads into a handler, a streamed body to HTTP/1.1
// (chunked) and HTTP/1.0 (delimited by the close) clients, and the route's 405.
#include <gtest/gtest.h>

#include <string>

#include "integration/cli_helpers.hpp"
#include "integration/http_fixture.hpp"

namespace sockit::test {
namespace {

// curl's "@FILE" argument.
std::string at(const std::string& path) {
  std::string arg = "@";
  arg += path;
  return arg;
}

class HttpApi : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.emplace(std::vector<std::string>{binary("bin/examples/http_api_server"), "--port", "0",
                                             "--root", site_.root()});
    auto port = wait_listening_port(*server_);
    ASSERT_TRUE(port) << server_->stderr_text();
    base_ = "http://127.0.0.1:" + std::to_string(*port);
  }

  Site site_;
  std::optional<Process> server_;
  std::string base_;
};

TEST_F(HttpApi, JsonInAndOut) {
  auto echo = run({"curl", "-sS", "--json", R"({"name":"sockit","n":[1,2]})", base_ + "/api/echo"});
  ASSERT_EQ(echo.status.code, 0) << describe(echo);
  EXPECT_EQ(echo.out, R"({"bytes":27,"received":{"n":[1,2],"name":"sockit"}})"
                      "\n");
  auto bad = run({"curl", "-sS", "-w", " %{http_code}", "--json", "{oops", base_ + "/api/echo"});
  EXPECT_EQ(bad.out, "{\"error\":\"the body is not JSON\"}\n 400") << describe(bad);
  auto time = run({"curl", "-sS", "-i", base_ + "/api/time"});
  EXPECT_NE(time.out.find("Content-Type: application/json"), std::string::npos) << time.out;
  EXPECT_NE(time.out.find("\"unix\":"), std::string::npos) << time.out;
  // Routes and files side by side.
  auto file = run({"curl", "-sS", base_ + "/hello.txt"});
  EXPECT_EQ(file.out, "hello, world\n");
}

TEST_F(HttpApi, UploadsWithContinueAndChunkedBodies) {
  TempDir dir;
  std::string json = R"({"blob":")";
  json.append(200000, 'x');
  json += "\"}";
  write_file(dir.path() / "body.json", json);
  auto upload = run({"curl", "-sS", "-v", "-H", "Content-Type: application/json", "-H",
                     "Expect: 100-continue", "-H", "Transfer-Encoding: chunked", "--data-binary",
                     at(dir.file("body.json")), base_ + "/api/echo"});
  ASSERT_EQ(upload.status.code, 0) << describe(upload);
  EXPECT_NE(upload.err.find("HTTP/1.1 100 Continue"), std::string::npos) << upload.err;
  EXPECT_NE(upload.out.find("\"bytes\":" + std::to_string(json.size())), std::string::npos)
      << upload.out.substr(0, 200);

  // Over the default 1 MiB body limit: refused before the body is sent.
  write_file(dir.path() / "huge.json", std::string(2 * 1024 * 1024, ' '));
  auto huge =
      run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect: 100-continue",
           "--data-binary", at(dir.file("huge.json")), base_ + "/api/echo"});
  EXPECT_EQ(huge.out, "413") << describe(huge);
}

TEST_F(HttpApi, StreamedBodiesAndMethods) {
  std::string expected;
  for (int i = 1; i <= 5000; ++i)
    expected += "line " + std::to_string(i) + "\n";
  auto chunked = run({"curl", "-sS", "-D", "/dev/stderr", base_ + "/api/count?n=5000"});
  EXPECT_EQ(chunked.out, expected);
  EXPECT_NE(chunked.err.find("Transfer-Encoding: chunked"), std::string::npos) << chunked.err;
  auto http10 = run({"curl", "-sS", "-0", "-D", "/dev/stderr", base_ + "/api/count?n=5000"});
  EXPECT_EQ(http10.out, expected);
  EXPECT_EQ(http10.err.find("Transfer-Encoding"), std::string::npos) << http10.err;

  auto head = run({"curl", "-sS", "-I", base_ + "/api/time"});
  EXPECT_NE(head.out.find("HTTP/1.1 200 OK"), std::string::npos) << head.out;
  auto put = run({"curl", "-sS", "-i", "-X", "PUT", base_ + "/api/time"});
  EXPECT_NE(put.out.find("HTTP/1.1 405"), std::string::npos) << put.out;
  EXPECT_NE(put.out.find("Allow: GET, HEAD"), std::string::npos) << put.out;
}

}  // namespace
}  // namespace sockit::test
