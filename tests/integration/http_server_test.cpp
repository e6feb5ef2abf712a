// `sockit serve http` against hostile and ordinary clients, on one architecture (the
// session is the same code on all of them; http_serve_test runs the matrix): limits with
// their statuses, every path-traversal form, slow heads, idle keep-alive, and the real
// clients (curl's conditional, range and compressed requests, Python's http.client, wrk).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "integration/cli_helpers.hpp"
#include "integration/http_fixture.hpp"
#include "support/require_tool.hpp"

namespace sockit::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string url(std::uint16_t port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

// Sends one raw request on a new connection and reads the answer and the close that must
// follow an error.
HttpReply refused(std::uint16_t port, const std::string& request) {
  HttpConnection conn(port);
  conn.send(request);
  auto reply = conn.read();
  conn.client().read_to_eof(10s);
  EXPECT_TRUE(conn.client().eof()) << "the connection stays open after " << reply.status;
  return reply;
}

TEST(HttpServer, LimitsAnswerWithTheirStatusAndClose) {
  Site site;
  ServeProcess server("http", "reactor", {"--root", site.root(), "--max-body", "1000"});
  ASSERT_TRUE(server.ok());
  const auto port = server.port;

  EXPECT_EQ(refused(port, "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n").status,
            414);
  std::string big_head = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 40; ++i)
    big_head += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'v') + "\r\n";
  EXPECT_EQ(refused(port, big_head + "\r\n").status, 431);
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i)
    many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(refused(port, many + "\r\n").status, 431);
  EXPECT_EQ(refused(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n").status,
            413);
  EXPECT_EQ(refused(port,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "400\r\n" +
                        std::string(1024, 'b') + "\r\n")
                .status,
            413);
  EXPECT_EQ(refused(port, "GARBAGE\r\n\r\n").status, 400);
  EXPECT_EQ(refused(port, "GET / HTTP/1.1\r\n\r\n").status, 400);  // no Host
  EXPECT_EQ(
      refused(port, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n")
          .status,
      400);

  // Everyone else is still served.
  HttpConnection after(port);
  EXPECT_EQ(after.request("GET", "/hello.txt").body, "hello, world\n");
  EXPECT_TRUE(server.process->wait_stderr("414 request line longer than", 10s))
      << "refusals are logged: " << server.process->stderr_text();
}

// Counts the responses in what a connection received.
std::size_t responses_in(const std::string& received) {
  std::size_t count = 0;
  for (auto at = received.find("HTTP/1.1 "); at != std::string::npos;
       at = received.find("HTTP/1.1 ", at + 1)) {
    ++count;
  }
  return count;
}

TEST(HttpServer, MaxRequestsClosesAfterTheLastAnswer) {
  Site site;
  ServeProcess server("http", "reactor", {"--root", site.root(), "--max-requests", "3"});
  ASSERT_TRUE(server.ok());
  {
    HttpConnection conn(server.port);
    for (int i = 1; i <= 3; ++i) {
      conn.send("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
      const HttpReply reply = conn.read();
      EXPECT_EQ(reply.status, 200) << reply.head;
      EXPECT_EQ(reply.body, "hello, world\n");
      // Only the last answer says it is the last.
      EXPECT_EQ(reply.field("Connection"), i < 3 ? "" : "close") << "request " << i;
    }
    conn.client().read_to_eof(10s);
    EXPECT_TRUE(conn.client().eof());
  }
  // Five requests in one write: three answers, then the close.
  HttpConnection conn(server.port);
  std::string five;
  for (int i = 0; i < 5; ++i)
    five += "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
  conn.send(five);
  const std::string all = conn.client().read_to_eof(10s);
  EXPECT_TRUE(conn.client().eof());
  EXPECT_EQ(responses_in(all), 3u) << all;
  EXPECT_NE(all.find("Connection: close"), std::string::npos) << all;
}

TEST(HttpServer, NoPathLeavesTheRoot) {
  TempDir outside("sockit-outside", 0755);
  write_file(outside.path() / "secret.txt", "secret\n");
  Site site;
  write_file(site.dir().path() / ".hidden", "hidden\n");
  std::filesystem::create_symlink(outside.path() / "secret.txt", site.dir().path() / "link.txt");
  std::filesystem::create_symlink("hello.txt", site.dir().path() / "inside-link.txt");
  const std::string escape = "/../" + outside.path().filename().string() + "/secret.txt";
  ServeProcess server("http", "reactor", {"--root", site.root(), "--quiet"});
  ASSERT_TRUE(server.ok());

  HttpConnection conn(server.port);
  const std::string targets[] = {
      escape,
      "/%2e%2e/" + outside.path().filename().string() + "/secret.txt",
      "/.%2e/" + outside.path().filename().string() + "/secret.txt",
      "/..%2f" + outside.path().filename().string() + "%2fsecret.txt",
      "/..%5c" + outside.path().filename().string() + "%5csecret.txt",
      "/..\\" + outside.path().filename().string() + "\\secret.txt",
      "/%c0%ae%c0%ae/" + outside.path().filename().string() + "/secret.txt",
      "/hello.txt%00.html",
      std::string("/link.txt"),
      std::string("/.hidden"),
      std::string("/%2ehidden"),
      std::string("/docs/../../etc/passwd")};
  for (const std::string& target : targets) {
    HttpConnection one(server.port);
    one.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto reply = one.read();
    EXPECT_TRUE(reply.status == 400 || reply.status == 404) << target << " -> " << reply.head;
    EXPECT_EQ(reply.body.find("secret\n"), std::string::npos) << target;
    EXPECT_EQ(reply.body.find("hidden\n"), std::string::npos) << target;
  }
  // A symlink that stays inside the root is an ordinary file; ".." inside it resolves.
  EXPECT_EQ(conn.request("GET", "/inside-link.txt").body, "hello, world\n");
  EXPECT_EQ(conn.request("GET", "/docs/../hello.txt").body, "hello, world\n");
  EXPECT_EQ(conn.request("GET", "/%68ello.txt").body, "hello, world\n");

  // --follow-symlinks serves the link that leaves the root, and still nothing by "..".
  ServeProcess follow("http", "reactor", {"--root", site.root(), "--quiet", "--follow-symlinks"});
  ASSERT_TRUE(follow.ok());
  HttpConnection f(follow.port);
  EXPECT_EQ(f.request("GET", "/link.txt").body, "secret\n");
  EXPECT_EQ(f.request("GET", escape).status, 400);
}

// A client that sends its head one byte at a time cannot hold the connection past the
// head deadline; one that sends nothing is closed at the keep-alive deadline.
TEST(HttpServer, SlowHeadsAndIdleConnectionsEnd) {
  Site site;
  for (std::string arch : {"reactor", "thread"}) {
    ServeProcess server(
        "http", arch,
        {"--root", site.root(), "--quiet", "--header-timeout", "1", "--keep-alive", "1.5"});
    ASSERT_TRUE(server.ok());

    HttpConnection slow(server.port);
    const auto start = Clock::now();
    const std::string head = "GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    std::size_t sent = 0;
    while (!slow.client().eof() && Clock::now() - start < 6s) {
      try {
        slow.send(std::string(1, head[sent % head.size()]));
      } catch (const Error&) {
        break;  // the server closed after answering
      }
      ++sent;
      if (slow.client().read_until("\r\n\r\n", 200ms).find("\r\n\r\n") != std::string::npos) {
        break;
      }
    }
    const auto took = Clock::now() - start;
    auto reply = slow.read();
    EXPECT_EQ(reply.status, 408) << arch << ": " << slow.client().received();
    EXPECT_GE(took, 900ms) << arch;
    EXPECT_LT(took, 4s) << arch << ": the head deadline did not hold";

    HttpConnection idle(server.port);
    EXPECT_EQ(idle.request("GET", "/hello.txt").status, 200);
    const auto idle_start = Clock::now();
    idle.client().read_to_eof(8s);
    const auto idle_took = Clock::now() - idle_start;
    EXPECT_TRUE(idle.client().eof()) << arch;
    EXPECT_GE(idle_took, 1300ms) << arch;
    EXPECT_LT(idle_took, 5s) << arch;
  }
}

TEST(HttpServer, CurlConditionalRangeAndCompressedRequests) {
  Site site;
  ServeProcess server("http", "reactor", {"--root", site.root(), "--quiet"});
  ASSERT_TRUE(server.ok());
  const auto port = server.port;

  // A validator from the first answer makes the second a 304.
  auto first = run({"curl", "-sS", "-D", "-", "-o", "/dev/null", url(port, "/hello.txt")});
  ASSERT_EQ(first.status.code, 0) << describe(first);
  const auto etag_at = first.out.find("ETag: ");
  ASSERT_NE(etag_at, std::string::npos) << first.out;
  const std::string etag =
      first.out.substr(etag_at + 6, first.out.find("\r\n", etag_at) - etag_at - 6);
  auto cached = run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                     "If-None-Match: " + etag, url(port, "/hello.txt")});
  EXPECT_EQ(cached.out, "304") << describe(cached);
  auto modified =
      run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
           "If-Modified-Since: Sun, 06 Nov 2035 08:49:37 GMT", url(port, "/hello.txt")});
  EXPECT_EQ(modified.out, "304") << describe(modified);

  auto range = run({"curl", "-sS", "-r", "7-11", "-w", " %{http_code}", url(port, "/hello.txt")});
  EXPECT_EQ(range.out, "world 206") << describe(range);
  auto tail = run({"curl", "-sS", "-r", "-100", url(port, "/big.bin")});
  EXPECT_TRUE(tail.out == binary_payload().substr(binary_payload().size() - 100));
  auto unsatisfiable = run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-r",
                            "99999999-", url(port, "/hello.txt")});
  EXPECT_EQ(unsatisfiable.out, "416");

  auto gz = run({"curl", "-sS", "--compressed", "-D", "-", url(port, "/style.css")});
  EXPECT_NE(gz.out.find("Content-Encoding: gzip"), std::string::npos) << gz.out;
  EXPECT_NE(gz.out.find("Vary: Accept-Encoding"), std::string::npos) << gz.out;
  EXPECT_NE(gz.out.find("body { color: #333; }\n"), std::string::npos) << gz.out;

  // Expect: 100-continue and a chunked upload: the body is read (and refused: files take
  // GET and HEAD) and the connection stays usable for the next URL.
  auto upload = run({"curl", "-sS", "-v", "-o", "/dev/null", "-w", "%{http_code} ", "-H",
                     "Expect: 100-continue", "-H", "Transfer-Encoding: chunked", "--data-binary",
                     "@" + site.dir().file("hello.txt"), url(port, "/hello.txt"), "--next", "-sS",
                     url(port, "/hello.txt")});
  EXPECT_NE(upload.err.find("HTTP/1.1 100 Continue"), std::string::npos) << upload.err;
  EXPECT_NE(upload.out.find("405 hello, world"), std::string::npos) << describe(upload);
  EXPECT_NE(upload.err.find("Re-using existing connection"), std::string::npos) << upload.err;
}

TEST(HttpServer, PythonHttpClientAndAccessLog) {
  Site site;
  TempDir logs("sockit-log");
  const std::string log = logs.file("access.log");
  ServeProcess server("http", "pool", {"--root", site.root(), "--access-log", log});
  ASSERT_TRUE(server.ok());

  const std::string script =
      "import http.client, sys\n"
      "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)\n"
      "for path in ['/', '/hello.txt', '/docs/readme.txt', '/big.bin', '/nope']:\n"
      "    c.request('GET', path, headers={'User-Agent': 'py-test'})\n"
      "    r = c.getresponse()\n"
      "    body = r.read()\n"
      "    print(path, r.status, len(body), r.getheader('Content-Type'))\n"
      "c.request('HEAD', '/hello.txt')\n"
      "r = c.getresponse(); r.read()\n"
      "print('HEAD', r.status, r.getheader('Content-Length'))\n";
  auto py = run({"/usr/bin/python3", "-c", script, std::to_string(server.port)});
  ASSERT_EQ(py.status.code, 0) << describe(py);
  std::ostringstream expected;
  expected << "/ 200 " << Site::index_html().size() << " text/html; charset=utf-8\n"
           << "/hello.txt 200 13 text/plain; charset=utf-8\n"
           << "/docs/readme.txt 200 8 text/plain; charset=utf-8\n"
           << "/big.bin 200 " << binary_payload().size() << " application/octet-stream\n"
           << "/nope 404 ";
  EXPECT_EQ(py.out.substr(0, expected.str().size()), expected.str()) << py.out;
  EXPECT_NE(py.out.find("HEAD 200 13"), std::string::npos) << py.out;

  // The log is written in batches: wait for the lines.
  std::string text;
  for (int i = 0; i < 50; ++i) {
    std::ifstream f(log);
    text.assign(std::istreambuf_iterator<char>(f), {});
    if (text.find("HEAD /hello.txt") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(text.find("127.0.0.1 - - ["), std::string::npos) << text;
  EXPECT_NE(text.find("\"GET /hello.txt HTTP/1.1\" 200 13 \"-\" \"py-test\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("\"GET /nope HTTP/1.1\" 404 "), std::string::npos) << text;
}

TEST(HttpServer, WrkHundredConnectionsWithoutErrors) {
  if (::access("/usr/bin/wrk", X_OK) != 0) SOCKIT_MISSING_TOOL("/usr/bin/wrk");
  Site site;
  ServeProcess server("http", "reactor", {"--root", site.root(), "--quiet"});
  ASSERT_TRUE(server.ok());
  auto load = run({"wrk", "-t", "2", "-c", "100", "-d", "2s", url(server.port, "/index.html")});
  ASSERT_EQ(load.status.code, 0) << describe(load);
  EXPECT_EQ(load.out.find("Socket errors"), std::string::npos) << load.out;
  EXPECT_EQ(load.out.find("Non-2xx"), std::string::npos) << load.out;
  EXPECT_NE(load.out.find("requests in"), std::string::npos) << load.out;
}

}  // namespace
}  // namespace sockit::test
