// Headless Chromium loads a page with a style sheet and images from `sockit serve http`:
// the page's own script checks that every image decoded and the style applied, and the
// access log shows every request answered with success.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "integration/cli_helpers.hpp"
#include "integration/http_fixture.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

// A 2x2 RGB PNG (red and blue rows).
constexpr unsigned char kPng[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd,
    0xd4, 0x9a, 0x73, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
    0xcf, 0xc0, 0x00, 0x44, 0x0c, 0x60, 0xf2, 0x3f, 0x00, 0x1b, 0xf2, 0x03, 0xfd, 0xf3, 0xe7,
    0x4b, 0xb1, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

constexpr std::string_view kPage = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>sockit</title>
<link rel="stylesheet" href="css/site.css"></head>
<body><h1>Served by sockit</h1>
<img src="img/dot.png" alt="png"><img src="img/logo.svg" alt="svg">
<img src="img/big%20name.png" alt="spaced">
<script>
window.addEventListener('load', () => {
  const images = [...document.images];
  const decoded = images.every(i => i.complete && i.naturalWidth > 0);
  const styled = getComputedStyle(document.body).color === 'rgb(51, 51, 51)';
  document.body.setAttribute('data-result',
      decoded && styled && images.length === 3 ? 'all-loaded' : 'broken');
});
</script></body></html>
)";

std::string chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

TEST(HttpBrowser, ChromiumLoadsAPageWithEveryResource) {
  const std::string browser = chromium();
  if (browser.empty()) SOCKIT_MISSING_TOOL("chromium");
  TempDir site("sockit-browser", 0755);
  write_file(site.path() / "index.html", kPage);
  write_file(site.path() / "css" / "site.css", "body { color: #333; font-family: sans-serif; }\n");
  const std::string png(reinterpret_cast<const char*>(kPng), sizeof kPng);
  write_file(site.path() / "img" / "dot.png", png);
  write_file(site.path() / "img" / "big name.png", png);
  write_file(site.path() / "img" / "logo.svg",
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\">"
             "<rect width=\"8\" height=\"8\" fill=\"#0a0\"/></svg>\n");
  TempDir work("sockit-chromium");
  const std::string log = work.file("access.log");
  ServeProcess server("http", "reactor",
                      {"--root", site.path().string(), "--quiet", "--access-log", log});
  ASSERT_TRUE(server.ok());

  auto page = run({browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-extensions", "--disable-dev-shm-usage",
                   "--user-data-dir=" + work.file("profile"), "--virtual-time-budget=5000",
                   "--dump-dom", "http://127.0.0.1:" + std::to_string(server.port) + "/"});
  ASSERT_EQ(page.status.code, 0) << describe(page);
  EXPECT_NE(page.out.find("data-result=\"all-loaded\""), std::string::npos) << page.out;

  std::string text;
  for (int i = 0; i < 50; ++i) {
    std::ifstream f(log);
    text.assign(std::istreambuf_iterator<char>(f), {});
    if (text.find("big%20name.png") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  for (const char* request :
       {"\"GET / HTTP/1.1\" 200", "\"GET /css/site.css HTTP/1.1\" 200",
        "\"GET /img/dot.png HTTP/1.1\" 200", "\"GET /img/logo.svg HTTP/1.1\" 200",
        "\"GET /img/big%20name.png HTTP/1.1\" 200"}) {
    EXPECT_NE(text.find(request), std::string::npos) << request << " missing from:\n" << text;
  }
  // The browser may ask for /favicon.ico (404 is its expected answer); nothing else fails.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("/favicon.ico") != std::string::npos) continue;
    EXPECT_EQ(line.find("\" 4"), std::string::npos) << line;
    EXPECT_EQ(line.find("\" 5"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace sockit::test
