// StaticFiles over a real tree in a temp dir: every status (200, 206, 301, 304, 403, 404,
// 405, 416), the validators and ranges byte for byte, gzip bodies decompressed back,
// listings escaped and bounded, and no TargetPath, however hostile, reaching outside.
#include "sockit/http/static_files.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "sockit/error.hpp"
#include "support/temp_dir.hpp"

namespace {

using sockit::http::RequestHead;
using sockit::http::StaticAnswer;
using sockit::http::StaticFiles;
using sockit::http::StaticOptions;
using sockit::http::TargetPath;
using sockit::test::TempDir;

// 2021-01-02 03:04:05.123456789 UTC, set on every file so dates and tags are predictable.
constexpr std::time_t kMtime = 1609556645;
constexpr long kMtimeNs = 123456789;
constexpr std::string_view kMtimeText = "Sat, 02 Jan 2021 03:04:05 GMT";

void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << path;
}

void set_mtime(const std::string& path) {
  const timespec times[2] = {{kMtime, kMtimeNs}, {kMtime, kMtimeNs}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

std::string gzip(std::string_view data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string gunzip(std::string_view data) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  EXPECT_EQ(z.avail_in, 0u);  // no trailing bytes after the gzip member
  inflateEnd(&z);
  return out;
}

// A text that gzip shrinks a lot, so the on-the-fly body is chosen.
std::string long_text() {
  std::string s;
  for (int i = 0; i < 2000; ++i)
    s += "line " + std::to_string(i % 37) + " of a compressible text\n";
  return s;
}

// Bytes that do not repeat, so an offset mistake cannot go unnoticed.
std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  std::uint32_t x = 2463534242u;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return s;
}

RequestHead request(std::string method = "GET",
                    const std::vector<std::pair<std::string, std::string>>& fields = {}) {
  RequestHead head;
  head.method = std::move(method);
  head.target = "/";
  for (const auto& [name, value] : fields)
    head.headers.add(name, value);
  return head;
}

// A TargetPath built by hand (no decoding): split at '/', keeping a trailing slash.
TargetPath target(std::string_view path, std::string query = {}) {
  TargetPath t;
  t.path = std::string(path);
  t.query = std::move(query);
  t.trailing_slash = path.size() > 1 && path.back() == '/';
  std::size_t pos = 1;
  while (pos < path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) t.segments.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return t;
}

TargetPath raw_target(std::vector<std::string> segments, bool trailing_slash = false) {
  TargetPath t;
  for (const auto& s : segments)
    t.path += "/" + s;
  if (t.path.empty() || trailing_slash) t.path += "/";
  t.segments = std::move(segments);
  t.trailing_slash = trailing_slash;
  return t;
}

std::optional<std::string> header(const StaticAnswer& a, std::string_view name) {
  for (const auto& [n, v] : a.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// The bytes the session would send for a GET.
std::string body_of(const StaticAnswer& a) {
  if (!a.file) return a.body;
  std::string out(static_cast<std::size_t>(a.length), '\0');
  std::size_t have = 0;
  while (have < out.size()) {
    const ssize_t n = ::pread(a.file.get(), out.data() + have, out.size() - have,
                              static_cast<off_t>(a.offset + have));
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
  }
  out.resize(have);
  return out;
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string r = root.path().string();
    write_file(r + "/index.html", "<p>root index</p>\n");
    write_file(r + "/hello.txt", text);
    write_file(r + "/small.txt", "hi\n");
    write_file(r + "/image.png", "\x89PNG not really");
    write_file(r + "/data.json", long_text());
    write_file(r + "/big.bin", big);
    write_file(r + "/.secret", "dotfile contents");
    ASSERT_EQ(::mkdir((r + "/.hidden").c_str(), 0755), 0);
    write_file(r + "/.hidden/inside.txt", "in a dot directory");
    write_file(r + "/style.css", css);
    write_file(r + "/style.css.gz", gzip(css_precompressed));
    ASSERT_EQ(::mkdir((r + "/docs").c_str(), 0755), 0);
    write_file(r + "/docs/index.html", "<p>docs index</p>\n");
    ASSERT_EQ(::mkdir((r + "/sub").c_str(), 0755), 0);
    write_file(r + "/sub/b.txt", "bee");
    write_file(r + "/sub/a.txt", "ay");
    write_file(r + "/sub/<b>&\"x'.txt", "weird");
    write_file(r + "/sub/.dot", "hidden");
    ASSERT_EQ(::mkdir((r + "/sub/inner").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((r + "/my dir").c_str(), 0755), 0);
    ASSERT_EQ(::symlink("hello.txt", (r + "/link_inside").c_str()), 0);
    write_file(outside.file("secret.txt"), kOutsideSecret);
    ASSERT_EQ(::symlink(outside.file("secret.txt").c_str(), (r + "/link_outside").c_str()), 0);
    ASSERT_EQ(::symlink(outside.path().c_str(), (r + "/dir_outside").c_str()), 0);
    ASSERT_EQ(::symlink(outside.file("secret.txt").c_str(), (r + "/data.json.gz").c_str()), 0);
    ASSERT_EQ(::mkfifo((r + "/fifo").c_str(), 0644), 0);
    write_file(r + "/unreadable.txt", "no");
    ASSERT_EQ(::chmod((r + "/unreadable.txt").c_str(), 0), 0);
    for (const char* name : {"hello.txt", "small.txt", "image.png", "data.json", "big.bin",
                             "style.css", "style.css.gz", "index.html", "docs/index.html"}) {
      set_mtime(r + "/" + name);
    }
  }

  StaticOptions options() const {
    StaticOptions o;
    o.root = root.path().string();
    return o;
  }

  StaticAnswer get(std::string_view path,
                   const std::vector<std::pair<std::string, std::string>>& fields = {},
                   StaticOptions o = {}) {
    if (o.root.empty()) o = options();
    return StaticFiles(o).answer(request("GET", fields), target(path));
  }

  static constexpr std::string_view kOutsideSecret = "OUTSIDE-THE-ROOT";
  TempDir root{"sockit-static", 0755};  // entered by "nobody" too
  TempDir outside{"sockit-outside"};
  const std::string text = "Hello, static world!\n0123456789abcdefghijklmnopqrstuvwxyz\n";
  const std::string css = long_text();
  const std::string css_precompressed = "/* the precompressed sibling */ body{}";
  const std::string big = pattern(5 * 1024 * 1024 + 17);
};

// ---- construction and methods ----

TEST_F(StaticFilesTest, ConstructorNamesAMissingRoot) {
  StaticOptions o;
  o.root = root.file("no-such-dir");
  try {
    StaticFiles files(o);
    FAIL() << "no exception";
  } catch (const sockit::Error& e) {
    EXPECT_NE(std::string(e.what()).find(o.root), std::string::npos) << e.what();
  }
  o.root = root.file("hello.txt");
  EXPECT_THROW(StaticFiles{o}, sockit::Error);
}

TEST_F(StaticFilesTest, OtherMethodsAre405WithAllow) {
  const StaticFiles files(options());
  for (const char* method : {"POST", "PUT", "DELETE", "get", "OPTIONS"}) {
    const StaticAnswer a = files.answer(request(method), target("/hello.txt"));
    EXPECT_EQ(a.status, 405) << method;
    EXPECT_EQ(header(a, "Allow"), "GET, HEAD");
    EXPECT_FALSE(a.file);
  }
}

// ---- files ----

TEST_F(StaticFilesTest, ServesAFileWithItsHeaders) {
  const StaticAnswer a = get("/hello.txt");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(header(a, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(header(a, "Last-Modified"), kMtimeText);
  // size 0x3a, mtime 1609556645123456789 ns = 0x16564b3dae73ff15
  EXPECT_EQ(header(a, "ETag"), "\"3a-16564b3dae73ff15\"");
  EXPECT_EQ(header(a, "Accept-Ranges"), "bytes");
  EXPECT_EQ(header(a, "Vary"), "Accept-Encoding");
  EXPECT_FALSE(header(a, "Content-Encoding"));
  ASSERT_TRUE(a.file);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(a.length, text.size());
  EXPECT_EQ(a.body_size(), text.size());
  EXPECT_EQ(body_of(a), text);
}

TEST_F(StaticFilesTest, HeadAnswersLikeGet) {
  const StaticFiles files(options());
  const StaticAnswer g = files.answer(request("GET"), target("/hello.txt"));
  const StaticAnswer h = files.answer(request("HEAD"), target("/hello.txt"));
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.headers, g.headers);
  EXPECT_EQ(h.body_size(), g.body_size());
}

TEST_F(StaticFilesTest, BinaryTypesHaveNoVary) {
  const StaticAnswer a = get("/image.png", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(header(a, "Content-Type"), "image/png");
  EXPECT_FALSE(header(a, "Vary"));
  EXPECT_FALSE(header(a, "Content-Encoding"));
}

TEST_F(StaticFilesTest, MissingNamesAre404) {
  EXPECT_EQ(get("/nothing.txt").status, 404);
  EXPECT_EQ(get("/nothing/deeper.txt").status, 404);
  EXPECT_EQ(get("/hello.txt/").status, 404);      // a file named as a directory
  EXPECT_EQ(get("/hello.txt/more").status, 404);  // a file as a directory on the way
  const StaticAnswer a = get("/nothing.txt");
  EXPECT_EQ(header(a, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(a.body.find("404 Not Found"), std::string::npos);
}

TEST_F(StaticFilesTest, FifosAndOtherNonFilesAre404WithoutBlocking) {
  EXPECT_EQ(get("/fifo").status, 404);
  StaticOptions o = options();
  o.follow_symlinks = true;
  o.show_dotfiles = true;
  EXPECT_EQ(get("/fifo", {}, o).status, 404);
}

// Run as root, the checks run in a child that has become "nobody", for whom the modes bite.
TEST_F(StaticFilesTest, UnreadableFileIs403) {
  ASSERT_EQ(::mkdir(root.file("locked").c_str(), 0700), 0);
  write_file(root.file("locked/inside.txt"), "locked in");
  const auto failures = [&]() -> int {
    const StaticFiles files(options());
    int failed = 0;
    const StaticAnswer a = files.answer(request(), target("/unreadable.txt"));
    if (a.status != 403 || a.file) failed |= 1;
    if (files.answer(request(), target("/locked/inside.txt")).status != 403) failed |= 2;
    if (files.answer(request(), target("/hello.txt")).status != 200) failed |= 4;
    return failed;
  };
  if (::geteuid() != 0) {
    EXPECT_EQ(failures(), 0);
    return;
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(100);
    _exit(failures());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: unreadable file, 2: unsearchable directory, "
                                       "4: readable file, 100: could not drop privileges";
}

TEST_F(StaticFilesTest, LargeFileAndRangesInsideIt) {
  StaticAnswer a = get("/big.bin");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(header(a, "Content-Type"), "application/octet-stream");
  EXPECT_EQ(a.length, big.size());
  EXPECT_EQ(body_of(a), big);
  a = get("/big.bin", {{"Range", "bytes=4000000-4000099"}});
  EXPECT_EQ(a.status, 206);
  EXPECT_EQ(header(a, "Content-Range"), "bytes 4000000-4000099/" + std::to_string(big.size()));
  EXPECT_EQ(a.offset, 4000000u);
  EXPECT_EQ(a.length, 100u);
  EXPECT_EQ(body_of(a), big.substr(4000000, 100));
}

// ---- directories ----

TEST_F(StaticFilesTest, DirectoryWithoutSlashRedirects) {
  StaticAnswer a = get("/docs");
  EXPECT_EQ(a.status, 301);
  EXPECT_EQ(header(a, "Location"), "/docs/");
  a = StaticFiles(options()).answer(request(), target("/docs", "a=1&b=%20"));
  EXPECT_EQ(a.status, 301);
  EXPECT_EQ(header(a, "Location"), "/docs/?a=1&b=%20");
  a = get("/my dir");
  EXPECT_EQ(a.status, 301);
  EXPECT_EQ(header(a, "Location"), "/my%20dir/");
  // Built from the segments, whatever the path text says: never "//host/".
  TargetPath odd = raw_target({"docs"});
  odd.path = "//evil.example/docs";
  odd.query = "x=1\r\nSet-Cookie: a=b";
  a = StaticFiles(options()).answer(request(), odd);
  EXPECT_EQ(a.status, 301);
  EXPECT_EQ(header(a, "Location"), "/docs/");
}

TEST_F(StaticFilesTest, DirectoryWithSlashServesItsIndex) {
  StaticAnswer a = get("/docs/");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(header(a, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(body_of(a), "<p>docs index</p>\n");
  a = get("/");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(body_of(a), "<p>root index</p>\n");
}

TEST_F(StaticFilesTest, DirectoryWithoutIndexIs404UnlessListed) {
  EXPECT_EQ(get("/sub/").status, 404);
  EXPECT_EQ(get("/my dir/").status, 404);
  StaticOptions o = options();
  o.list_directories = true;
  const StaticAnswer a = get("/sub/", {}, o);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(header(a, "Content-Type"), "text/html; charset=utf-8");
  const std::string& page = a.body;
  EXPECT_NE(page.find("Index of /sub/"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"../\">../</a>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"inner/\">inner/</a>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"a.txt\">a.txt</a>"), std::string::npos);
  EXPECT_NE(page.find(">2<"), std::string::npos);  // a.txt's size
  // The weird name: percent-encoded in the href, escaped in the text, never raw.
  EXPECT_NE(page.find("href=\"%3Cb%3E%26%22x%27.txt\""), std::string::npos) << page;
  EXPECT_NE(page.find(">&lt;b&gt;&amp;&quot;x&#39;.txt<"), std::string::npos) << page;
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_EQ(page.find(".dot"), std::string::npos);
  // Sorted by name: "<b>..." < "a.txt" < "b.txt" < "inner".
  const auto weird = page.find("%3Cb"), first = page.find("a.txt"), second = page.find("b.txt"),
             inner = page.find("inner/");
  EXPECT_LT(weird, first);
  EXPECT_LT(first, second);
  EXPECT_LT(second, inner);

  o.show_dotfiles = true;
  EXPECT_NE(get("/sub/", {}, o).body.find(">.dot<"), std::string::npos);
}

TEST_F(StaticFilesTest, RootListingHasNoParentLinkAndHidesRefusedEntries) {
  ASSERT_EQ(::unlink(root.file("index.html").c_str()), 0);
  StaticOptions o = options();
  o.list_directories = true;
  const StaticAnswer a = get("/", {}, o);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body.find("../"), std::string::npos);
  EXPECT_NE(a.body.find(">hello.txt<"), std::string::npos);
  EXPECT_EQ(a.body.find(".secret"), std::string::npos);
  EXPECT_EQ(a.body.find("link_outside"), std::string::npos);  // a symlink, not followed
  EXPECT_NE(a.body.find(">my dir/<"), std::string::npos);
  EXPECT_NE(a.body.find("href=\"my%20dir/\""), std::string::npos);
}

TEST_F(StaticFilesTest, ListingIsBounded) {
  const std::string dir = root.file("many");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  char name[32];
  for (int i = 0; i < 10'005; ++i) {
    std::snprintf(name, sizeof name, "/f%05d", i);
    const int fd = ::open((dir + name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  StaticOptions o = options();
  o.list_directories = true;
  const StaticAnswer a = get("/many/", {}, o);
  ASSERT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("5 more not shown"), std::string::npos);
  EXPECT_NE(a.body.find(">f00000<"), std::string::npos);
  EXPECT_NE(a.body.find(">f09999<"), std::string::npos);
  EXPECT_EQ(a.body.find(">f10000<"), std::string::npos);
  EXPECT_EQ(a.body.find(">f10004<"), std::string::npos);
}

// ---- dotfiles and symlinks ----

TEST_F(StaticFilesTest, DotfilesAre404UnlessShown) {
  EXPECT_EQ(get("/.secret").status, 404);
  EXPECT_EQ(get("/.hidden/inside.txt").status, 404);
  EXPECT_EQ(get("/.hidden/").status, 404);
  StaticOptions o = options();
  o.show_dotfiles = true;
  EXPECT_EQ(body_of(get("/.secret", {}, o)), "dotfile contents");
  EXPECT_EQ(body_of(get("/.hidden/inside.txt", {}, o)), "in a dot directory");
}

// A symlink that stays under the root is an ordinary name; one that leads out, however it
// is written, is not there unless symlinks are followed.
TEST_F(StaticFilesTest, SymlinksLeavingTheRootAre404UnlessFollowed) {
  const StaticAnswer inside = get("/link_inside");
  EXPECT_EQ(inside.status, 200);
  EXPECT_EQ(body_of(inside), text);
  ASSERT_EQ(::symlink("../../../../../../../../etc/hostname", root.file("climb").c_str()), 0);
  ASSERT_EQ(::symlink("sub/../../x", root.file("climb2").c_str()), 0);
  EXPECT_EQ(get("/climb").status, 404);
  EXPECT_EQ(get("/climb2").status, 404);
  EXPECT_EQ(get("/link_outside").status, 404);
  EXPECT_EQ(get("/dir_outside/secret.txt").status, 404);
  EXPECT_EQ(get("/dir_outside/").status, 404);
  StaticOptions o = options();
  o.follow_symlinks = true;
  StaticAnswer a = get("/link_inside", {}, o);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(body_of(a), text);
  // Following symlinks means following them wherever they lead: that is the option.
  EXPECT_EQ(body_of(get("/link_outside", {}, o)), kOutsideSecret);
  EXPECT_EQ(body_of(get("/dir_outside/secret.txt", {}, o)), kOutsideSecret);
}

TEST_F(StaticFilesTest, NoTargetPathEscapesTheRoot) {
  const std::vector<std::vector<std::string>> hostile = {
      {".."},
      {"..", "etc", "hostname"},
      {"..", "..", "..", "..", "etc", "passwd"},
      {"sub", "..", "..", "etc", "passwd"},
      {"sub", "..", "hello.txt"},
      {".", "hello.txt"},
      {"", "hello.txt"},
      {"..", outside.path().filename().string(), "secret.txt"},
      {"sub/../../x"},
      {"/etc", "passwd"},
      {"/etc/passwd"},
      {std::string("hello.txt\0.png", 14)},
      {"dir_outside", "..", "hello.txt"},
      {"...", "x"},
  };
  for (bool permissive : {false, true}) {
    StaticOptions o = options();
    o.follow_symlinks = permissive;
    o.show_dotfiles = permissive;
    o.list_directories = permissive;
    const StaticFiles files(o);
    for (const auto& segments : hostile) {
      for (bool slash : {false, true}) {
        const StaticAnswer a = files.answer(request(), raw_target(segments, slash));
        EXPECT_TRUE(a.status == 404 || a.status == 400)
            << a.status << " for " << raw_target(segments).path << " permissive=" << permissive;
        EXPECT_FALSE(a.file);
        EXPECT_EQ(a.body.find(kOutsideSecret), std::string::npos);
        EXPECT_EQ(a.body.find("root:"), std::string::npos);
      }
    }
  }
}

// ---- validators ----

TEST_F(StaticFilesTest, IfNoneMatchGives304) {
  const std::string etag = *header(get("/hello.txt"), "ETag");
  for (const std::string& field :
       {etag, "W/" + etag, "\"other\", " + etag, std::string("*"), "\"a,b\"," + etag}) {
    const StaticAnswer a = get("/hello.txt", {{"If-None-Match", field}});
    EXPECT_EQ(a.status, 304) << field;
    EXPECT_EQ(header(a, "ETag"), etag);
    EXPECT_EQ(header(a, "Last-Modified"), kMtimeText);
    EXPECT_FALSE(a.file);
    EXPECT_TRUE(a.body.empty());
    EXPECT_EQ(a.body_size(), 0u);
  }
  // Split over two fields, one list.
  EXPECT_EQ(get("/hello.txt", {{"If-None-Match", "\"x\""}, {"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(get("/hello.txt", {{"If-None-Match", "\"x\""}}).status, 200);
  EXPECT_EQ(get("/hello.txt", {{"If-None-Match", "\"3a-16564b3dae73ff16\""}}).status, 200);
}

TEST_F(StaticFilesTest, IfModifiedSince) {
  EXPECT_EQ(get("/hello.txt", {{"If-Modified-Since", std::string(kMtimeText)}}).status, 304);
  EXPECT_EQ(get("/hello.txt", {{"If-Modified-Since", "Sun, 03 Jan 2021 00:00:00 GMT"}}).status,
            304);
  EXPECT_EQ(get("/hello.txt", {{"If-Modified-Since", "Sat, 02 Jan 2021 03:04:04 GMT"}}).status,
            200);
  EXPECT_EQ(get("/hello.txt", {{"If-Modified-Since", "yesterday"}}).status, 200);
  // If-None-Match decides alone when present (RFC 9110 section 13.2.2).
  EXPECT_EQ(get("/hello.txt", {{"If-None-Match", "\"x\""},
                               {"If-Modified-Since", "Sun, 03 Jan 2021 00:00:00 GMT"}})
                .status,
            200);
}

// ---- ranges ----

TEST_F(StaticFilesTest, SingleRanges) {
  const std::string size = std::to_string(text.size());
  struct Case {
    std::string range;
    std::uint64_t first, last;
  };
  const std::uint64_t n = text.size();
  for (const Case& c :
       {Case{"bytes=0-4", 0, 4}, Case{"bytes=10-", 10, n - 1}, Case{"bytes=-3", n - 3, n - 1},
        Case{"bytes=5-100000", 5, n - 1}, Case{"bytes=-100000", 0, n - 1},
        Case{"BYTES = 7-7", 7, 7}, Case{"bytes=0-99999999999999999999999", 0, n - 1}}) {
    const StaticAnswer a = get("/hello.txt", {{"Range", c.range}, {"Accept-Encoding", "gzip"}});
    EXPECT_EQ(a.status, 206) << c.range;
    EXPECT_EQ(header(a, "Content-Range"),
              "bytes " + std::to_string(c.first) + "-" + std::to_string(c.last) + "/" + size)
        << c.range;
    EXPECT_FALSE(header(a, "Content-Encoding")) << c.range;
    EXPECT_EQ(a.offset, c.first);
    EXPECT_EQ(a.length, c.last - c.first + 1);
    EXPECT_EQ(body_of(a), text.substr(c.first, c.last - c.first + 1)) << c.range;
  }
}

TEST_F(StaticFilesTest, UnsatisfiableRangesAre416) {
  const std::string size = std::to_string(text.size());
  for (const std::string& range :
       {"bytes=" + size + "-", "bytes=" + size + "-" + size, std::string("bytes=-0"),
        std::string("bytes=99999999999999999999999-")}) {
    const StaticAnswer a = get("/hello.txt", {{"Range", range}});
    EXPECT_EQ(a.status, 416) << range;
    EXPECT_EQ(header(a, "Content-Range"), "bytes */" + size);
    EXPECT_FALSE(a.file);
  }
}

TEST_F(StaticFilesTest, MalformedOrMultipleRangesServeTheWhole) {
  for (const char* range : {"bytes=abc", "bytes=5-2", "items=0-1", "bytes 0-1", "bytes=", "bytes=-",
                            "bytes=0-1,4-5", "bytes=1-2-3", "bytes=0x10-"}) {
    const StaticAnswer a = get("/hello.txt", {{"Range", range}});
    EXPECT_EQ(a.status, 200) << range;
    EXPECT_FALSE(header(a, "Content-Range")) << range;
    EXPECT_EQ(body_of(a), text);
  }
  // HEAD has no range handling.
  const StaticAnswer h = StaticFiles(options()).answer(request("HEAD", {{"Range", "bytes=0-1"}}),
                                                       target("/hello.txt"));
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body_size(), text.size());
}

TEST_F(StaticFilesTest, IfRange) {
  const std::string etag = *header(get("/hello.txt"), "ETag");
  auto status = [&](const std::string& if_range) {
    return get("/hello.txt", {{"Range", "bytes=0-0"}, {"If-Range", if_range}}).status;
  };
  EXPECT_EQ(status(etag), 206);
  EXPECT_EQ(status(std::string(kMtimeText)), 206);
  EXPECT_EQ(status("\"other\""), 200);
  EXPECT_EQ(status("W/" + etag), 200);  // If-Range compares strongly
  EXPECT_EQ(status("Sat, 02 Jan 2021 03:04:04 GMT"), 200);
  EXPECT_EQ(status("garbage"), 200);
}

// ---- compression ----

TEST_F(StaticFilesTest, GzipOnTheFly) {
  const std::string json = long_text();
  const StaticAnswer identity = get("/data.json");
  const StaticAnswer a = get("/data.json", {{"Accept-Encoding", "br, gzip;q=0.5"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(header(a, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(a, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(a, "Vary"), "Accept-Encoding");
  const std::string etag = *header(a, "ETag");
  EXPECT_NE(etag, *header(identity, "ETag"));
  EXPECT_EQ(etag,
            header(identity, "ETag")->substr(0, header(identity, "ETag")->size() - 1) + "-gz\"");
  EXPECT_FALSE(a.file);
  EXPECT_LT(a.body.size(), json.size());
  EXPECT_EQ(a.body_size(), a.body.size());
  EXPECT_EQ(gunzip(a.body), json);
  // The compressed body's tag revalidates the compressed body.
  const StaticAnswer same =
      get("/data.json", {{"Accept-Encoding", "gzip"}, {"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(header(same, "ETag"), etag);
  EXPECT_EQ(header(same, "Vary"), "Accept-Encoding");
  // Each tag names its own body: the other one is sent in full.
  EXPECT_EQ(get("/data.json", {{"If-None-Match", etag}}).status, 200);
  EXPECT_EQ(
      get("/data.json", {{"Accept-Encoding", "gzip"}, {"If-None-Match", *header(identity, "ETag")}})
          .status,
      200);
}

TEST_F(StaticFilesTest, AcceptEncodingQValues) {
  auto encoding = [&](const std::string& accept) {
    return header(get("/data.json", {{"Accept-Encoding", accept}}), "Content-Encoding");
  };
  EXPECT_EQ(encoding("gzip"), "gzip");
  EXPECT_EQ(encoding("GZIP"), "gzip");
  EXPECT_EQ(encoding("x-gzip"), "gzip");
  EXPECT_EQ(encoding("*"), "gzip");
  EXPECT_EQ(encoding("deflate, gzip;q=1.0"), "gzip");
  EXPECT_EQ(encoding("gzip ; q=0.001"), "gzip");
  EXPECT_FALSE(encoding("gzip;q=0"));
  EXPECT_FALSE(encoding("gzip;q=0.000"));
  EXPECT_FALSE(encoding("gzip; Q=0, *"));
  EXPECT_FALSE(encoding("*;q=0"));
  EXPECT_FALSE(encoding("identity"));
  EXPECT_FALSE(encoding("br, deflate"));
  EXPECT_FALSE(encoding(""));
}

TEST_F(StaticFilesTest, NoCompressionWhenItDoesNotPay) {
  StaticAnswer a = get("/small.txt", {{"Accept-Encoding", "gzip"}});  // gzip would grow it
  EXPECT_FALSE(header(a, "Content-Encoding"));
  EXPECT_EQ(header(a, "Vary"), "Accept-Encoding");
  EXPECT_EQ(body_of(a), "hi\n");
  StaticOptions o = options();
  o.max_compress_bytes = 1000;
  a = get("/data.json", {{"Accept-Encoding", "gzip"}}, o);
  EXPECT_FALSE(header(a, "Content-Encoding"));
  EXPECT_EQ(body_of(a), long_text());
  o = options();
  o.compress = false;
  a = get("/data.json", {{"Accept-Encoding", "gzip"}}, o);
  EXPECT_FALSE(header(a, "Content-Encoding"));
  EXPECT_FALSE(header(a, "Vary"));
  a = get("/style.css", {{"Accept-Encoding", "gzip"}}, o);
  EXPECT_FALSE(header(a, "Content-Encoding"));
  EXPECT_EQ(body_of(a), css);
}

TEST_F(StaticFilesTest, PrecompressedSibling) {
  StaticOptions o = options();
  o.max_compress_bytes = 10;  // the sibling is served whatever the size limit
  const StaticAnswer a = get("/style.css", {{"Accept-Encoding", "gzip"}}, o);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(header(a, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(a, "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(header(a, "Vary"), "Accept-Encoding");
  ASSERT_TRUE(a.file);
  EXPECT_EQ(a.length, gzip(css_precompressed).size());
  EXPECT_EQ(gunzip(body_of(a)), css_precompressed);
  EXPECT_NE(header(a, "ETag")->find("-gz\""), std::string::npos);
  EXPECT_NE(header(a, "ETag"), header(get("/style.css"), "ETag"));
  // A client that does not take gzip gets the original.
  EXPECT_EQ(body_of(get("/style.css")), css);
}

TEST_F(StaticFilesTest, SiblingFollowsTheSameRules) {
  // data.json.gz is a symlink out of the root: ignored unless symlinks are followed, so the
  // body is made from data.json itself.
  const StaticAnswer a = get("/data.json", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(header(a, "Content-Encoding"), "gzip");
  EXPECT_EQ(gunzip(body_of(a)), long_text());
}

}  // namespace
