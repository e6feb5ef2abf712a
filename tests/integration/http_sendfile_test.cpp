// Large file bodies of `sockit serve http` on plain TCP: a slow reader gets every byte, a
// client that resets mid-file leaves no descriptor behind, a range of a large file is exact;
// and where the connection sends files with sendfile(2), /proc/PID/io shows it: sendfile
// counts the bytes it moves in wchar, while the fallback (pread, then send(2) on the socket)
// adds nothing there, since socket sends are not counted as file writes.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "integration/cli_helpers.hpp"
#include "integration/http_fixture.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kLarge = 32 * 1024 * 1024;

// One 32 MiB payload for every test of the file.
const std::string& large_payload() {
  static const std::string bytes = binary_payload(kLarge);
  return bytes;
}

class LargeSite {
 public:
  LargeSite() : dir_("sockit-large", 0755) {
    write_file(dir_.path() / "large.bin", large_payload());
    write_file(dir_.path() / "hello.txt", "hello, world\n");
  }
  std::string root() const { return dir_.path().string(); }
  std::filesystem::path large() const { return dir_.path() / "large.bin"; }

 private:
  TempDir dir_;
};

// What the process has written so far through write-like calls (write, sendfile), or
// nullopt where /proc does not say.
std::optional<std::uint64_t> written_chars(int pid) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "wchar:") return value;
  }
  return std::nullopt;
}

// How many of the process's descriptors are open on `file`.
int descriptors_on(int pid, const std::filesystem::path& file) {
  int count = 0;
  std::error_code ec;
  const auto target = std::filesystem::canonical(file, ec);
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    const auto points_to = std::filesystem::read_symlink(entry.path(), link_ec);
    if (!link_ec && points_to == target) ++count;
  }
  return count;
}

// The architectures whose plain TCP connections send files with sendfile(2).
bool uses_sendfile(const std::string& arch) {
  return arch == "reactor" || arch == "thread";
}

// Reads the head of a response off `client`; returns where its body starts, or npos.
std::size_t read_head(Client& client) {
  const std::string& got = client.read_until_from(0, "\r\n\r\n", 20s);
  const auto end = got.find("\r\n\r\n");
  return end == std::string::npos ? std::string::npos : end + 4;
}

class HttpSendfile : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpSendfile, SlowReaderGetsTheWholeFile) {
  LargeSite site;
  ServeProcess server("http", GetParam(), {"--root", site.root(), "--quiet"});
  ASSERT_TRUE(server.ok());
  const int pid = server.process->pid();
  const auto written_before = written_chars(pid);

  Client client(server.port);
  client.send("GET /large.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::size_t body = read_head(client);
  ASSERT_NE(body, std::string::npos) << client.received();
  EXPECT_NE(client.received().find("Content-Length: " + std::to_string(kLarge)), std::string::npos)
      << client.received().substr(0, body);
  // A slow reader: the server's socket fills, and it waits for this one to read.
  for (std::size_t round = 1; round <= 8; ++round) {
    client.read_at_least(body + round * 64 * 1024, 20s);
    std::this_thread::sleep_for(50ms);
  }
  const std::string& all = client.read_at_least(body + kLarge, 60s);
  ASSERT_EQ(all.size(), body + kLarge);
  EXPECT_TRUE(std::string_view(all).substr(body) == large_payload()) << "the body differs";

  const auto written_after = written_chars(pid);
  ASSERT_TRUE(written_before && written_after) << "/proc/PID/io is unreadable";
  if (uses_sendfile(GetParam())) {
    EXPECT_GE(*written_after - *written_before, kLarge) << "sendfile was not used";
  }
  auto stopped = server.terminate();
  EXPECT_TRUE(stopped.exited && stopped.code == 0) << server.process->stderr_text();
}

TEST_P(HttpSendfile, ResetMidFileClosesTheFile) {
  LargeSite site;
  ServeProcess server("http", GetParam(), {"--root", site.root(), "--quiet"});
  ASSERT_TRUE(server.ok());
  const int pid = server.process->pid();

  {
    Client client(server.port);
    client.send("GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::size_t body = read_head(client);
    ASSERT_NE(body, std::string::npos) << client.received();
    const std::string& got = client.read_at_least(body + 1024 * 1024, 20s);
    ASSERT_GE(got.size(), body + 1024 * 1024);
    // Mid-file, the server holds the file open (which shows the check below can see it).
    EXPECT_EQ(descriptors_on(pid, site.large()), 1);
    // Close with a reset: unread bytes and a zero linger.
    const linger reset{1, 0};
    ASSERT_EQ(::setsockopt(client.socket().fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
  }

  // The server keeps serving others, and lets the file go.
  HttpConnection other(server.port);
  auto hello = other.request("GET", "/hello.txt");
  EXPECT_EQ(hello.status, 200) << hello.head;
  EXPECT_EQ(hello.body, "hello, world\n");
  int open = 1;
  for (int i = 0; i < 100 && open != 0; ++i) {
    open = descriptors_on(pid, site.large());
    if (open != 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(open, 0) << "the server still holds the file of the reset connection";

  auto stopped = server.terminate();
  EXPECT_TRUE(stopped.exited && stopped.code == 0) << server.process->stderr_text();
}

TEST_P(HttpSendfile, RangeOfALargeFileIsExact) {
  LargeSite site;
  ServeProcess server("http", GetParam(), {"--root", site.root(), "--quiet"});
  ASSERT_TRUE(server.ok());
  const int pid = server.process->pid();
  const auto written_before = written_chars(pid);

  HttpConnection conn(server.port);
  const std::size_t first = 3 * 1024 * 1024 + 17;
  const std::size_t last = 20 * 1024 * 1024 + 4;
  auto part =
      conn.request("GET", "/large.bin",
                   "Range: bytes=" + std::to_string(first) + "-" + std::to_string(last) + "\r\n");
  EXPECT_EQ(part.status, 206) << part.head;
  EXPECT_EQ(part.field("Content-Range"), "bytes " + std::to_string(first) + "-" +
                                             std::to_string(last) + "/" + std::to_string(kLarge));
  ASSERT_EQ(part.body.size(), last - first + 1);
  EXPECT_TRUE(part.body == large_payload().substr(first, last - first + 1)) << "the range differs";
  // The connection goes on after the range.
  auto hello = conn.request("GET", "/hello.txt");
  EXPECT_EQ(hello.body, "hello, world\n");

  const auto written_after = written_chars(pid);
  ASSERT_TRUE(written_before && written_after) << "/proc/PID/io is unreadable";
  if (uses_sendfile(GetParam())) {
    EXPECT_GE(*written_after - *written_before, last - first + 1) << "sendfile was not used";
  }
  auto stopped = server.terminate();
  EXPECT_TRUE(stopped.exited && stopped.code == 0) << server.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Architectures, HttpSendfile,
                         ::testing::Values(std::string("reactor"), std::string("thread")),
                         arch_param_name);

}  // namespace
}  // namespace sockit::test
