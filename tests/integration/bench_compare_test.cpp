// The benchmark harness (bench/compare), functionally (never its speed): comparing two
// architectures prints a table and writes a well-formed SVG chart. The harness is built
// only with -DSOCKIT_BUILD_BENCH=ON; without it the test is skipped. SOCKIT_ARCH_COMPARE
// names a harness built elsewhere (e.g. by the bench preset).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli_helpers.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {
namespace {

std::string compare_bin() {
  if (const char* path = std::getenv("SOCKIT_ARCH_COMPARE")) return path;
  return binary("bin/bench/arch_compare");
}

TEST(BenchCompare, TwoArchitecturesPrintATableAndWriteAnSvgChart) {
  const std::string harness = compare_bin();
  if (::access(harness.c_str(), X_OK) != 0) {
    GTEST_SKIP() << harness << " not built (configure with -DSOCKIT_BUILD_BENCH=ON)";
  }
  char dir_template[] = "/tmp/sockit-bench-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;
  const std::string svg_path = (dir / "chart.svg").string();
  auto f = run({harness, "--sockit", sockit_bin(), "--archs", "thread,reactor", "--conns", "4",
                "--duration", "1", "--warmup", "0", "--rounds", "1", "--plot", svg_path});
  EXPECT_TRUE(f.status.success()) << describe(f);
  EXPECT_NE(f.out.find("CPU us/msg"), std::string::npos) << f.out;
  std::istringstream lines(f.out);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("thread ", 0) == 0 || line.rfind("reactor ", 0) == 0) ++rows;
  }
  EXPECT_EQ(rows, 2) << f.out;

  std::ifstream in(svg_path);
  std::stringstream svg;
  svg << in.rdbuf();
  const std::string text = svg.str();
  EXPECT_EQ(text.rfind("<?xml", 0), 0U) << text;
  EXPECT_NE(text.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos) << text;
  EXPECT_NE(text.find(">thread</text>"), std::string::npos) << text;
  EXPECT_NE(text.find(">reactor</text>"), std::string::npos) << text;
  EXPECT_NE(text.find("</svg>"), std::string::npos) << text;
  if (have_tool("python3")) {
    auto check = run({"python3", "-c",
                      "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); "
                      "assert d.documentElement.tagName == 'svg'",
                      svg_path});
    EXPECT_TRUE(check.status.success()) << describe(check);
  } else if (in_ci()) {
    ADD_FAILURE() << "python3 is missing: CI expects scripts/install-deps.sh to install it";
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace sockit::test
