// The static server's open-file cache: a settled file is served from the cache, and every
// change fstat(2) can see (an edit, a chmod, an unlink, a rename over it) ends the entry at
// once; what it cannot see ends with the entry's lifetime; the cache stays within its
// capacity. Through StaticFiles too: answers stay right as a cached file changes.
#include "../../src/http_server/open_file_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "sockit/file_descriptor.hpp"
#include "sockit/http/static_files.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using sockit::FileDescriptor;
using sockit::http::detail::OpenFileCache;
using sockit::test::TempDir;

constexpr auto kSettle = 100ms;

void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << path;
}

// Waits out the settle time: the cache takes only files that have been still that long.
void let_settle(std::chrono::milliseconds settle) {
  std::this_thread::sleep_for(settle + 50ms);
}

std::string read_all(int fd) {
  std::string out(4096, '\0');
  const ssize_t n = ::pread(fd, out.data(), out.size(), 0);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

class OpenFileCacheTest : public ::testing::Test {
 protected:
  // Opens `name` in the temp dir and offers it to `to` (the fixture's cache by default) as
  // `name`; the OpenFile it gives back is served, whether or not it is kept.
  void offer(const std::string& name, OpenFileCache* to = nullptr) {
    FileDescriptor fd(::open(dir.file(name).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd) << name;
    struct stat st {};
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    const auto file = (to != nullptr ? *to : cache).insert(name, std::move(fd), st);
    ASSERT_TRUE(file);
    EXPECT_TRUE(file->fd);
  }
  bool hit(const std::string& name, std::string* content = nullptr,
           std::string* cached_bytes = nullptr) {
    const auto file = cache.lookup(name);
    if (!file) return false;
    EXPECT_TRUE(file->fd);
    if (content != nullptr) *content = read_all(file->fd.get());
    if (cached_bytes != nullptr) *cached_bytes = file->content.value_or("(none)");
    return true;
  }

  TempDir dir;
  OpenFileCache cache{4, 10s, kSettle};
};

TEST_F(OpenFileCacheTest, ASettledFileIsServedFromTheCacheAsOwnDescriptor) {
  write_file(dir.file("a.txt"), "alpha");
  let_settle(kSettle);
  offer("a.txt");
  std::string content;
  std::string cached;
  ASSERT_TRUE(hit("a.txt", &content, &cached));
  EXPECT_EQ(content, "alpha");
  EXPECT_EQ(cached, "alpha");
  EXPECT_TRUE(hit("a.txt"));
  EXPECT_FALSE(hit("b.txt"));
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(OpenFileCacheTest, ALargeFileIsNotKept) {
  const std::string big(sockit::http::detail::OpenFile::kContentMax + 1, 'b');
  write_file(dir.file("big.bin"), big);
  let_settle(kSettle);
  offer("big.bin");
  EXPECT_FALSE(hit("big.bin"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(OpenFileCacheTest, AFileChangedJustNowIsNotCached) {
  write_file(dir.file("fresh.txt"), "fresh");
  offer("fresh.txt");
  EXPECT_FALSE(hit("fresh.txt"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(OpenFileCacheTest, AnEditInPlaceEndsTheEntry) {
  write_file(dir.file("a.txt"), "alpha");
  let_settle(kSettle);
  offer("a.txt");
  ASSERT_TRUE(hit("a.txt"));
  write_file(dir.file("a.txt"), "omega");  // same size: only the times tell
  EXPECT_FALSE(hit("a.txt"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(OpenFileCacheTest, AChmodEndsTheEntry) {
  write_file(dir.file("a.txt"), "alpha");
  let_settle(kSettle);
  offer("a.txt");
  ASSERT_TRUE(hit("a.txt"));
  ASSERT_EQ(::chmod(dir.file("a.txt").c_str(), 0600), 0);
  EXPECT_FALSE(hit("a.txt"));
}

TEST_F(OpenFileCacheTest, AnUnlinkOrARenameOverEndsTheEntry) {
  write_file(dir.file("gone.txt"), "gone");
  write_file(dir.file("old.txt"), "old");
  let_settle(kSettle);
  offer("gone.txt");
  offer("old.txt");
  ASSERT_TRUE(hit("gone.txt"));
  ASSERT_TRUE(hit("old.txt"));
  ASSERT_EQ(::unlink(dir.file("gone.txt").c_str()), 0);
  EXPECT_FALSE(hit("gone.txt"));
  write_file(dir.file("new.tmp"), "new");
  ASSERT_EQ(::rename(dir.file("new.tmp").c_str(), dir.file("old.txt").c_str()), 0);
  EXPECT_FALSE(hit("old.txt"));
}

TEST_F(OpenFileCacheTest, AnEntryEndsWithItsLifetime) {
  OpenFileCache short_lived(4, 50ms, kSettle);
  write_file(dir.file("a.txt"), "alpha");
  let_settle(kSettle);
  offer("a.txt", &short_lived);
  ASSERT_TRUE(short_lived.lookup("a.txt"));
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(short_lived.lookup("a.txt"));
  EXPECT_EQ(short_lived.size(), 0u);
}

// "f0", "f1"... (appended: g++ 12 at -O3 warns falsely about "f" + std::string).
std::string numbered(int i) {
  std::string name = "f";
  name += std::to_string(i);
  return name;
}

TEST_F(OpenFileCacheTest, StaysWithinItsCapacity) {
  for (int i = 0; i < 10; ++i)
    write_file(dir.file(numbered(i)), "x");
  let_settle(kSettle);
  for (int i = 0; i < 10; ++i) {
    offer(numbered(i));
    EXPECT_LE(cache.size(), 4u);
  }
  EXPECT_TRUE(hit("f9"));  // the newest stays; the oldest went first
  EXPECT_FALSE(hit("f0"));
}

TEST_F(OpenFileCacheTest, CapacityZeroCachesNothing) {
  OpenFileCache off(0, 10s, kSettle);
  write_file(dir.file("a.txt"), "alpha");
  let_settle(kSettle);
  offer("a.txt", &off);
  EXPECT_FALSE(off.lookup("a.txt"));
  EXPECT_EQ(off.size(), 0u);
}

// Through StaticFiles, with the one-second settle time it uses.
std::string body_of(const sockit::http::StaticAnswer& a) {
  if (!a.file) return a.body;
  std::string out(static_cast<std::size_t>(a.length), '\0');
  const ssize_t n = ::pread(a.file.get(), out.data(), out.size(), static_cast<off_t>(a.offset));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

sockit::http::TargetPath path_of(const std::string& first, const std::string& second = {}) {
  sockit::http::TargetPath t;
  t.segments.push_back(first);
  if (!second.empty()) t.segments.push_back(second);
  for (const std::string& segment : t.segments) {
    t.path += '/';
    t.path += segment;
  }
  return t;
}

TEST(StaticFilesCacheTest, AnswersFollowACachedFileAsItChanges) {
  TempDir root;
  write_file(root.file("page.txt"), "version 1");
  ASSERT_EQ(::mkdir(root.file("dir").c_str(), 0755), 0);
  write_file(root.file("dir/moved.txt"), "before the move");
  let_settle(1s);
  sockit::http::StaticOptions options;
  options.root = root.path().string();
  options.open_file_ttl = 60s;
  const sockit::http::StaticFiles files(options);
  sockit::http::RequestHead get;
  get.method = "GET";
  get.target = "/page.txt";

  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(body_of(files.answer(get, path_of("page.txt"))), "version 1");
  EXPECT_EQ(body_of(files.answer(get, path_of("dir", "moved.txt"))), "before the move");

  write_file(root.file("page.txt"), "version 2");  // in place
  EXPECT_EQ(body_of(files.answer(get, path_of("page.txt"))), "version 2");

  write_file(root.file("next.tmp"), "version 3, renamed over");
  ASSERT_EQ(::rename(root.file("next.tmp").c_str(), root.file("page.txt").c_str()), 0);
  EXPECT_EQ(body_of(files.answer(get, path_of("page.txt"))), "version 3, renamed over");

  ASSERT_EQ(::unlink(root.file("page.txt").c_str()), 0);
  EXPECT_EQ(files.answer(get, path_of("page.txt")).status, 404);

  // What fstat cannot see: a directory on the way renamed and a new one put in its place
  // (the file itself is untouched). The entry stands for its lifetime (60 s here): this is
  // the documented limit, and it shows the cache answered.
  ASSERT_EQ(::rename(root.file("dir").c_str(), root.file("old-dir").c_str()), 0);
  ASSERT_EQ(::mkdir(root.file("dir").c_str(), 0755), 0);
  write_file(root.file("dir/moved.txt"), "after the move");
  EXPECT_EQ(body_of(files.answer(get, path_of("dir", "moved.txt"))), "before the move");

  options.open_files = 0;  // no cache: every answer looks the name up
  const sockit::http::StaticFiles uncached(options);
  EXPECT_EQ(body_of(uncached.answer(get, path_of("dir", "moved.txt"))), "after the move");
}

TEST(StaticFilesCacheTest, RangesAndGzipFromCachedBytes) {
  TempDir root;
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "a line of text that gzip shrinks\n";
  write_file(root.file("page.txt"), text);
  let_settle(1s);
  sockit::http::StaticOptions options;
  options.root = root.path().string();
  const sockit::http::StaticFiles files(options);
  sockit::http::RequestHead get;
  get.method = "GET";
  get.target = "/page.txt";
  const auto whole = files.answer(get, path_of("page.txt"));  // opens and caches
  EXPECT_EQ(body_of(whole), text);
  EXPECT_FALSE(whole.file);  // a small cached file answers from memory

  sockit::http::RequestHead ranged = get;
  ranged.headers.add("Range", "bytes=2-9");
  for (int i = 0; i < 2; ++i) {
    const auto a = files.answer(ranged, path_of("page.txt"));
    EXPECT_EQ(a.status, 206);
    EXPECT_EQ(body_of(a), text.substr(2, 8));
  }
  sockit::http::RequestHead gz = get;
  gz.headers.add("Accept-Encoding", "gzip");
  const auto a = files.answer(gz, path_of("page.txt"));
  EXPECT_EQ(a.status, 200);
  EXPECT_LT(a.body.size(), text.size());
  EXPECT_EQ(a.body.substr(0, 2), "\x1f\x8b");  // a gzip member
}

}  // namespace
