// `sockit serve http` over TLS on a blocking, a pooled and a forked architecture: curl
// verifies the certificate, fetches a large file byte-exact and reuses the connection.
#include <gtest/gtest.h>

#include <string>

#include "integration/http_fixture.hpp"
#include "integration/tls_fixture.hpp"

namespace sockit::test {
namespace {

class HttpTls : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpTls, CurlFetchesOverOneVerifiedConnection) {
  TlsTempDir dir;
  CertPair pair = sockit_cert(dir, "localhost");
  Site site;
  write_file(site.dir().path() / "copy.bin", binary_payload());
  ServeProcess server(
      "http", GetParam(),
      {"--root", site.root(), "--quiet", "--tls-cert", pair.cert, "--tls-key", pair.key});
  ASSERT_TRUE(server.ok());
  const std::string port = std::to_string(server.port);
  const std::string base = "https://localhost:" + port;
  const std::string output = dir.file("got.bin");
  Ran curl = run({"curl", "-sS", "-v", "--cacert", pair.cert, "--resolve",
                  "localhost:" + port + ":127.0.0.1", base + "/hello.txt", base + "/big.bin", "-o",
                  "/dev/stdout", "-o", output});
  ASSERT_EQ(curl.status.code, 0) << curl.describe();
  EXPECT_EQ(curl.out, "hello, world\n");
  EXPECT_NE(curl.err.find("Re-using existing connection"), std::string::npos) << curl.err;
  std::ifstream f(output, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(f)), {});
  EXPECT_TRUE(got == binary_payload()) << "big.bin over TLS differs (" << got.size() << " bytes)";
}

INSTANTIATE_TEST_SUITE_P(Architectures, HttpTls,
                         ::testing::Values("reactor", "pool", "prefork", "uring"), arch_param_name);

}  // namespace
}  // namespace sockit::test
