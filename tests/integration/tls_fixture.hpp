// Shared by the TLS integration tests: a private directory, certificates made by
// `sockit cert` (and by the openssl tool, for names ours never uses), and running a
// command to completion.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "integration/cli_helpers.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {

#define TLS_REQUIRE_TOOL(tool) SOCKIT_REQUIRE_TOOL(tool)

// World-traversable, so an nginx worker running as another user can read the files.
class TlsTempDir : public sockit::test::TempDir {
 public:
  TlsTempDir() : TempDir("sockit-tls", 0755) {}
};

// What a program run to its end did (cli_helpers.hpp's run()).
using Ran = Finished;

struct CertPair {
  std::string cert;
  std::string key;
};

// `sockit cert HOST --out DIR [extra...]`: DIR/HOST.crt and DIR/HOST.key.
inline CertPair sockit_cert(const TlsTempDir& dir, const std::string& host,
                            std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{binary("bin/sockit"), "cert", host, "--out", dir.path().string()};
  for (auto& e : extra)
    argv.push_back(std::move(e));
  Ran r = run(std::move(argv));
  EXPECT_TRUE(r.status.success()) << r.describe();
  return {dir.file(host + ".crt"), dir.file(host + ".key")};
}

// A certificate naming only `host`, made by the openssl tool.
inline CertPair openssl_cert(const TlsTempDir& dir, const std::string& host) {
  CertPair pair{dir.file(host + ".crt"), dir.file(host + ".key")};
  Ran r = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", pair.key, "-out", pair.cert, "-days", "2", "-subj",
               "/CN=" + host, "-addext", "subjectAltName=DNS:" + host});
  EXPECT_TRUE(r.status.success()) << r.describe();
  return pair;
}

}  // namespace sockit::test
