// Request-target decoding: ordinary paths, queries and UTF-8 names, and a table of every
// traversal and encoding trick a file server must refuse; percent-encoding paths back.
#include "sockit/http/request_target.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using sockit::http::decode_target;
using sockit::http::encode_path;

struct Decoded {
  const char* target = "";
  const char* path = nullptr;  // nullptr: refused
  bool trailing_slash = false;
};

void check(const Decoded& c) {
  SCOPED_TRACE(c.target);
  const auto got = decode_target(c.target);
  if (c.path == nullptr) {
    EXPECT_FALSE(got) << "decoded to " << got->path;
    return;
  }
  ASSERT_TRUE(got);
  EXPECT_EQ(got->path, c.path);
  EXPECT_EQ(got->trailing_slash, c.trailing_slash);
  // The segments are the path's, none empty, none a dot segment.
  std::string joined = "/";
  for (const auto& s : got->segments) {
    EXPECT_FALSE(s.empty());
    EXPECT_NE(s, ".");
    EXPECT_NE(s, "..");
    EXPECT_EQ(s.find('/'), std::string::npos);
    joined += s + "/";
  }
  if (!got->segments.empty() && !got->trailing_slash) joined.pop_back();
  EXPECT_EQ(joined, got->path);
}

TEST(HttpRequestTarget, OrdinaryPaths) {
  const Decoded cases[] = {
      {"/", "/", true},
      {"/index.html", "/index.html"},
      {"/docs/", "/docs/", true},
      {"/a/b/c.txt", "/a/b/c.txt"},
      {"/a%20b/c%20d.txt", "/a b/c d.txt"},
      {"/with+plus", "/with+plus"},  // '+' is a space only in forms, not in paths
      {"/caf%c3%a9.txt", "/caf\xc3\xa9.txt"},
      {"/caf%C3%A9.txt", "/caf\xc3\xa9.txt"},
      {"/\xc3\xa9t\xc3\xa9/", "/\xc3\xa9t\xc3\xa9/", true},  // raw UTF-8 passes too
      {"/%e2%82%ac", "/\xe2\x82\xac"},                       // U+20AC, three bytes
      {"/%f0%9f%98%80", "/\xf0\x9f\x98\x80"},                // U+1F600, four bytes
      {"/%f4%8f%bf%bf", "/\xf4\x8f\xbf\xbf"},                // U+10FFFF, the last
      {"/%ef%bf%bd", "/\xef\xbf\xbd"},
      {"/%41%42c", "/ABc"},
      {"/...", "/..."},
      {"/.hidden", "/.hidden"},
      {"/a..b", "/a..b"},
      {"/..a", "/..a"},
      {"/%7euser/", "/~user/", true},
      {"/100%25", "/100%"},
  };
  for (const auto& c : cases)
    check(c);
}

TEST(HttpRequestTarget, DotSegmentsAndEmptySegments) {
  const Decoded cases[] = {
      {"/a/../b", "/b"},
      {"/a/./b", "/a/b"},
      {"/./", "/", true},
      {"/.", "/", true},
      {"/a/.", "/a/", true},
      {"/a/..", "/", true},
      {"/a/b/..", "/a/", true},
      {"/a/b/../", "/a/", true},
      {"/a/b/../../c", "/c"},
      {"//a///b//", "/a/b/", true},
      {"/a/%2e/b", "/a/b"},
      {"/a/%2e%2e/b", "/b"},  // encoded, but inside the root: resolved like the raw form
      {"/a/.%2E/b", "/b"},
  };
  for (const auto& c : cases)
    check(c);
}

// Every way of climbing above "/" or smuggling a separator, NUL or bad byte is refused.
TEST(HttpRequestTarget, TraversalAndEncodingTricksAreRefused) {
  const char* const refused[] = {
      "/..",
      "/../",
      "/../etc/passwd",
      "/a/../../etc/passwd",
      "/a/b/../../../x",
      "/./../x",
      "//../x",
      "/%2e%2e/etc/passwd",
      "/%2E%2E/etc/passwd",
      "/.%2e/etc/passwd",
      "/%2e./etc/passwd",
      "/a/%2e%2e/%2e%2e/x",
      "/%2f",
      "/a%2fb",
      "/a%2Fb",
      "/..%2fetc%2fpasswd",
      "/a%5cb",
      "/a%5Cb",
      "/..%5c..%5cwindows",
      "/a\\b",
      "/..\\x",
      "/\\",
      "/a%00b",
      "/a%00",
      "/%00/",
      "/%c0%ae%c0%ae/etc/passwd",  // overlong '.'
      "/%c0%ae",
      "/%e0%80%ae",     // three-byte overlong '.'
      "/%f0%80%80%ae",  // four-byte overlong '.'
      "/%c0%af",        // overlong '/'
      "/%c1%9c",        // overlong '\'
      "/%c0%80",        // overlong NUL
      "/%ed%a0%80",     // a UTF-16 surrogate
      "/%ed%bf%bf",
      "/%f4%90%80%80",  // past U+10FFFF
      "/%f5%80%80%80",
      "/%ff",
      "/%80",  // a lone continuation byte
      "/%c3",  // truncated sequences
      "/%e2%82",
      "/%c3x",
      "/\xc3",
      "/\xc0\xae",
      "/%01",  // control bytes, encoded or raw
      "/%1f",
      "/%7f",
      "/%0d%0aSet-Cookie:x",
      "/a\tb",
      "/a\x7f",
      "/%",  // bad and truncated escapes
      "/%2",
      "/%g0",
      "/%0g",
      "/a%%20",
      "/a#frag",
      "",
      "a/b",
      "*",
      "http://h/x",
      "%2fetc/passwd",
      "?x",
  };
  for (const char* target : refused)
    check({target, nullptr});
}

// %25 decodes once: "%252e%252e" names a file called "%2e%2e", which does not climb.
TEST(HttpRequestTarget, DoubleEncodingDecodesOnce) {
  check({"/%252e%252e/x", "/%2e%2e/x"});
  check({"/%252e%252e", "/%2e%2e"});
  check({"/a/%252f/b", "/a/%2f/b"});
  check({"/%2500", "/%00"});
  const auto got = decode_target("/%252e%252e/%252e%252e/etc");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->segments, (std::vector<std::string>{"%2e%2e", "%2e%2e", "etc"}));
}

TEST(HttpRequestTarget, QueryIsKeptEncoded) {
  auto got = decode_target("/search%20me?q=a%20b&x=%2e%2e/..&y=%00");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->path, "/search me");
  EXPECT_EQ(got->query, "q=a%20b&x=%2e%2e/..&y=%00");
  EXPECT_FALSE(got->trailing_slash);
  got = decode_target("/dir/?");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->path, "/dir/");
  EXPECT_EQ(got->query, "");
  EXPECT_TRUE(got->trailing_slash);
  got = decode_target("/?a?b");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->query, "a?b");
  EXPECT_EQ(decode_target("/x")->query, "");
  // The path's rules hold before the '?' only.
  EXPECT_FALSE(decode_target("/../x?y"));
  EXPECT_TRUE(decode_target("/x?../../y"));
}

TEST(HttpRequestTarget, Segments) {
  const auto got = decode_target("/a%20b/./c/../d%c3%a9/");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->segments, (std::vector<std::string>{"a b", "d\xc3\xa9"}));
  EXPECT_EQ(got->path, "/a b/d\xc3\xa9/");
  EXPECT_TRUE(decode_target("/")->segments.empty());
}

// Whatever a peer sends, a decoded path is one a file server may join to its root.
TEST(HttpRequestTarget, MutatedTargetsNeverEscape) {
  const std::string seed = "/a/%2e%2e/b%c3%a9/./c%25/d?q=%2e";
  constexpr char alphabet[] = "/.%2eEfF5cC0a\\\x00\xc0\xae?#";
  std::mt19937 random(7);
  for (int round = 0; round < 20000; ++round) {
    std::string target = seed;
    for (int e = 0; e < 1 + static_cast<int>(random() % 5); ++e) {
      const std::size_t at = random() % (target.size() + 1);
      const char c = alphabet[random() % (sizeof alphabet - 1)];
      if (at == target.size() || random() % 2 == 0) {
        target.insert(target.begin() + static_cast<std::ptrdiff_t>(at), c);
      } else {
        target[at] = c;
      }
    }
    const auto got = decode_target(target);
    if (!got) continue;
    SCOPED_TRACE(target);
    ASSERT_EQ(got->path.front(), '/');
    EXPECT_EQ(got->path.find('\\'), std::string::npos);
    EXPECT_EQ(got->path.find('\0'), std::string::npos);
    EXPECT_EQ(got->path.find("//"), std::string::npos);
    for (const auto& segment : got->segments) {
      EXPECT_NE(segment, "..");
      EXPECT_NE(segment, ".");
      EXPECT_FALSE(segment.empty());
    }
    if (HasFailure()) break;
  }
}

TEST(HttpRequestTarget, EncodePath) {
  EXPECT_EQ(encode_path("/a b/c.txt"), "/a%20b/c.txt");
  EXPECT_EQ(encode_path("/caf\xc3\xa9"), "/caf%C3%A9");
  EXPECT_EQ(encode_path("/AZaz09-._~/"), "/AZaz09-._~/");
  EXPECT_EQ(encode_path("/100%/?#[]@!$&'()*+,;=:"),
            "/100%25/%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A");
  EXPECT_EQ(encode_path(std::string_view("\0\x7f\xff", 3)), "%00%7F%FF");
  EXPECT_EQ(encode_path(""), "");
  // Encoding a decoded path and decoding it again gives the same path.
  for (const char* target : {"/a b/", "/%252e%252e/x", "/caf%c3%a9/na%c3%afve.txt", "/~u/%25"}) {
    SCOPED_TRACE(target);
    const auto first = decode_target(target);
    ASSERT_TRUE(first);
    const auto again = decode_target(encode_path(first->path));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->path, first->path);
  }
}

}  // namespace
