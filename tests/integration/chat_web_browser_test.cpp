// Headless Chromium joins the chat room through the page of `sockit serve chat --web 0`
// (driven over the DevTools protocol by tests/integration/chat_page_browser.py) as `web`, a
// TCP client joins as `nc`, and a line goes each way. The page's screenshot is saved as
// tests/chat_web_browser.png in the build directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>

#include "integration/cli_helpers.hpp"
#include "integration/serve_fixture.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

std::string chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

TEST(ChatWebBrowser, ChromiumAndATcpClientTalkInOneRoom) {
  const std::string browser = chromium();
  if (browser.empty()) SOCKIT_MISSING_TOOL("chromium");
  if (::access("/usr/bin/python3", X_OK) != 0) SOCKIT_MISSING_TOOL("/usr/bin/python3");

  ServeProcess server("chat", "reactor", {"--web", "0"});
  ASSERT_TRUE(server.ok());
  std::smatch m;
  const std::string err = server.process->stderr_text();
  ASSERT_TRUE(std::regex_search(err, m, std::regex("web page on http://127\\.0\\.0\\.1:([0-9]+)/")))
      << err;
  const std::string web = m[1];

  TempDir work("sockit-chat-browser");
  const std::string screenshot = std::string(SOCKIT_BINARY_DIR) + "/tests/chat_web_browser.png";
  std::filesystem::remove(screenshot);
  Process page({"/usr/bin/python3", source("tests/integration/chat_page_browser.py"), browser, web,
                work.file("profile"), screenshot});
  if (!page.wait_stdout("\n", 60s) || page.stdout_text() != "joined\n") {
    page.close_stdin();
    page.finish(20s);
    if (page.stdout_text().rfind("missing websockets", 0) == 0) {
      SOCKIT_MISSING_TOOL("python3-websockets");
    }
    FAIL() << "the page did not join: " << page.stdout_text() << page.stderr_text();
  }

  Client nc(server.port);
  nc.send("nc\n");
  EXPECT_NE(nc.read_until("Welcome to the chat, nc\n").find("Welcome to the chat, nc\n"),
            std::string::npos)
      << nc.received();
  nc.send("hello from nc\n");
  page.write_stdin("expect nc: hello from nc\n");
  EXPECT_TRUE(page.wait_stdout("seen\n", 30s)) << page.stdout_text() << page.stderr_text();

  const std::size_t from = nc.received().size();
  page.write_stdin("say hello from chromium\n");
  EXPECT_TRUE(page.wait_stdout("sent\n", 30s)) << page.stdout_text() << page.stderr_text();
  EXPECT_NE(nc.read_until_from(from, "web: hello from chromium\n", 20s)
                .find("web: hello from chromium\n", from),
            std::string::npos)
      << nc.received();

  page.write_stdin("shot\n");
  EXPECT_TRUE(page.wait_stdout("saved\n", 30s)) << page.stdout_text() << page.stderr_text();
  page.close_stdin();
  const ExitStatus done = page.finish(60s);
  EXPECT_EQ(done.code, 0) << page.stderr_text();
  EXPECT_GT(std::filesystem::file_size(screenshot), 0u);

  // Chromium went with its page: the TCP member hears the page leave.
  EXPECT_NE(nc.read_until_from(from, "web left the chat\n", 20s).find("web left the chat\n", from),
            std::string::npos)
      << nc.received();
  EXPECT_EQ(server.terminate().code, 0) << server.process->stderr_text();
}

}  // namespace
}  // namespace sockit::test
