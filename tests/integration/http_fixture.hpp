// Shared by the HTTP server tests: a small site in a temporary directory, and a raw client
// that reads whole responses (head and Content-Length body) off one kept-alive connection,
// so a test sees exactly the bytes the server sent.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <string>
#include <string_view>

#include "integration/serve_fixture.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {

// Bytes that are not text, so a body that went through a text path shows it: every byte
// value, over and over, 1 MiB and a few more.
inline std::string binary_payload(std::size_t size = 1024 * 1024 + 123) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return bytes;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// index.html, hello.txt, big.bin (binary_payload), docs/readme.txt, a style sheet.
class Site {
 public:
  Site() : dir_("sockit-site", 0755) {
    write_file(dir_.path() / "index.html", index_html());
    write_file(dir_.path() / "hello.txt", "hello, world\n");
    write_file(dir_.path() / "big.bin", binary_payload());
    write_file(dir_.path() / "docs" / "readme.txt", "read me\n");
    write_file(dir_.path() / "style.css", style_css());
  }
  static std::string index_html() {
    return "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"style.css\"></head>"
           "<body><h1>sockit</h1></body></html>\n";
  }
  // Long enough that gzip makes it smaller, which is when the server compresses it.
  static std::string style_css() {
    std::string css = "body { color: #333; }\n";
    for (int i = 0; i < 40; ++i)
      css += ".item-" + std::to_string(i) + " { margin: 0 auto; padding: 4px; }\n";
    return css;
  }
  std::string root() const { return dir_.path().string(); }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
};

struct HttpReply {
  std::string head;  // status line and fields, without the blank line
  std::string body;
  int status = 0;

  // The value of the first field `name` (exact case as the server writes it), or "".
  std::string field(std::string_view name) const {
    const std::string key = "\r\n" + std::string(name) + ": ";
    const auto at = head.find(key);
    if (at == std::string::npos) return {};
    const auto start = at + key.size();
    const auto end = head.find("\r\n", start);
    return head.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
};

// Reads responses one at a time off a connection: the head up to its blank line, then
// Content-Length bytes of body (none for a HEAD request: say so).
class HttpConnection {
 public:
  explicit HttpConnection(std::uint16_t port) : client_(port) {}

  void send(std::string_view bytes) { client_.send(bytes); }
  Client& client() { return client_; }

  // The next response; status 0 when the connection ended first.
  HttpReply read(bool head_request = false,
                 std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    HttpReply reply;
    const std::string& all = client_.read_until_from(offset_, "\r\n\r\n", timeout);
    const auto end = all.find("\r\n\r\n", offset_);
    if (end == std::string::npos) return reply;
    reply.head = all.substr(offset_, end - offset_);
    offset_ = end + 4;
    reply.status = std::stoi(reply.head.substr(9, 3));
    const std::string length = reply.field("Content-Length");
    const std::size_t size = (head_request || length.empty()) ? 0 : std::stoul(length);
    const std::string& more = client_.read_at_least(offset_ + size, timeout);
    reply.body = more.substr(offset_, size);
    offset_ += reply.body.size();
    return reply;
  }

  // GET (or another method) with the fields a client always sends.
  HttpReply request(std::string_view method, std::string_view target,
                    std::string_view extra_fields = {}) {
    send(std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra_fields) + "\r\n");
    return read(method == "HEAD");
  }

 private:
  Client client_;
  std::size_t offset_ = 0;
};

}  // namespace sockit::test
