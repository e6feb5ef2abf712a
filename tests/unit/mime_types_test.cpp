// content_type_for: the built-in table, case, charset on text, names without an extension,
// and lookups from several threads while the table is first built.
// sockit-test-labels: threaded
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "sockit/http/static_files.hpp"

namespace {

using sockit::http::content_type_for;

TEST(MimeTypes, BuiltInTable) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("a.htm"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("data.json"), "application/json; charset=utf-8");
  EXPECT_EQ(content_type_for("notes.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(content_type_for("README.md"), "text/markdown; charset=utf-8");
  EXPECT_EQ(content_type_for("t.csv"), "text/csv; charset=utf-8");
  EXPECT_EQ(content_type_for("feed.xml"), "application/xml; charset=utf-8");
  EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("a.png"), "image/png");
  EXPECT_EQ(content_type_for("a.jpg"), "image/jpeg");
  EXPECT_EQ(content_type_for("a.jpeg"), "image/jpeg");
  EXPECT_EQ(content_type_for("a.gif"), "image/gif");
  EXPECT_EQ(content_type_for("a.webp"), "image/webp");
  EXPECT_EQ(content_type_for("favicon.ico"), "image/x-icon");
  EXPECT_EQ(content_type_for("m.wasm"), "application/wasm");
  EXPECT_EQ(content_type_for("doc.pdf"), "application/pdf");
  EXPECT_EQ(content_type_for("a.zip"), "application/zip");
  EXPECT_EQ(content_type_for("archive.tar.gz"), "application/gzip");
  EXPECT_EQ(content_type_for("a.tar"), "application/x-tar");
  EXPECT_EQ(content_type_for("v.mp4"), "video/mp4");
  EXPECT_EQ(content_type_for("v.webm"), "video/webm");
  EXPECT_EQ(content_type_for("s.mp3"), "audio/mpeg");
  EXPECT_EQ(content_type_for("s.ogg"), "audio/ogg");
  EXPECT_EQ(content_type_for("f.woff"), "font/woff");
  EXPECT_EQ(content_type_for("f.woff2"), "font/woff2");
  EXPECT_EQ(content_type_for("f.ttf"), "font/ttf");
  EXPECT_EQ(content_type_for("f.otf"), "font/otf");
}

TEST(MimeTypes, ExtensionsIgnoreCaseAndDirectories) {
  EXPECT_EQ(content_type_for("PHOTO.PNG"), "image/png");
  EXPECT_EQ(content_type_for("Index.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("dir.d/readme"), "application/octet-stream");
  EXPECT_EQ(content_type_for("/a/b.c/page.html"), "text/html; charset=utf-8");
}

TEST(MimeTypes, UnknownOrMissingExtensions) {
  EXPECT_EQ(content_type_for("Makefile"), "application/octet-stream");
  EXPECT_EQ(content_type_for(".bashrc"), "application/octet-stream");
  EXPECT_EQ(content_type_for("trailing."), "application/octet-stream");
  EXPECT_EQ(content_type_for(""), "application/octet-stream");
  EXPECT_EQ(content_type_for("x.no-such-extension-anywhere"), "application/octet-stream");
}

TEST(MimeTypes, SystemTableWhenPresent) {
  // Debian's /etc/mime.types (package media-types) knows .odt; the built-in table does not.
  if (content_type_for("x.odt") == "application/octet-stream") {
    GTEST_SKIP() << "no /etc/mime.types entry for .odt here";
  }
  EXPECT_EQ(content_type_for("x.odt"), "application/vnd.oasis.opendocument.text");
}

TEST(MimeTypes, ConcurrentFirstLookups) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&wrong, i] {
      for (int n = 0; n < 500; ++n) {
        if (content_type_for("a.css") != "text/css; charset=utf-8") ++wrong[i];
      }
    });
  }
  for (auto& t : threads)
    t.join();
  for (int w : wrong)
    EXPECT_EQ(w, 0);
}

}  // namespace
