// The incremental UTF-8 validator, Autobahn-style: every boundary of the encoding forms, the
// overlongs, the surrogate halves, past U+10FFFF, sequences cut short; each input fed whole
// and split in two at every byte, and byte by byte.
#include "sockit/websocket/utf8.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using sockit::websocket::is_valid_utf8;
using sockit::websocket::Utf8Validator;

// Valid and complete: whole, at every split, byte by byte.
void expect_valid(std::string_view text) {
  EXPECT_TRUE(is_valid_utf8(text));
  for (std::size_t at = 0; at <= text.size(); ++at) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed(text.substr(0, at))) << "split at " << at;
    EXPECT_TRUE(v.feed(text.substr(at))) << "split at " << at;
    EXPECT_TRUE(v.complete()) << "split at " << at;
  }
}

// Invalid at byte `bad` (counted from 0): a validator fed bytes one at a time accepts the
// ones before it, refuses that one, and stays refusing.
void expect_invalid_at(std::string_view text, std::size_t bad) {
  EXPECT_FALSE(is_valid_utf8(text));
  Utf8Validator v;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool ok = v.feed(text.substr(i, 1));
    EXPECT_EQ(ok, i < bad) << "byte " << i;
  }
  EXPECT_TRUE(v.failed());
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.feed("a"));
  for (std::size_t at = 0; at <= text.size(); ++at) {
    Utf8Validator w;
    const bool ok = w.feed(text.substr(0, at)) && w.feed(text.substr(at));
    EXPECT_FALSE(ok) << "split at " << at;
  }
}

// Valid so far, but cut short: not complete.
void expect_truncated(std::string_view text) {
  EXPECT_FALSE(is_valid_utf8(text));
  Utf8Validator v;
  EXPECT_TRUE(v.feed(text));
  EXPECT_FALSE(v.failed());
  EXPECT_FALSE(v.complete());
}

TEST(WebSocketUtf8, ValidText) {
  expect_valid("");
  expect_valid("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!");
  expect_valid("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5");  // "kosme" in Greek
  expect_valid(std::string_view("a\0b", 3));                     // NUL is a character
}

TEST(WebSocketUtf8, FirstAndLastOfEachLength) {
  expect_valid("\x7f");                              // U+007F
  expect_valid("\xc2\x80\xdf\xbf");                  // U+0080, U+07FF
  expect_valid("\xe0\xa0\x80\xef\xbf\xbf");          // U+0800, U+FFFF
  expect_valid("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");  // U+10000, U+10FFFF
  expect_valid("\xf0\x9f\x98\x80");                  // U+1F600, a 4-byte emoji
  expect_valid("\xed\x9f\xbf\xee\x80\x80");          // U+D7FF, U+E000: around the surrogates
  expect_valid("\xef\xbf\xbe\xef\xbf\xbf");          // U+FFFE, U+FFFF: noncharacters, still valid
}

TEST(WebSocketUtf8, Overlongs) {
  expect_invalid_at("\xc0\x80", 0);
  expect_invalid_at("\xc1\xbf", 0);
  expect_invalid_at("a\xe0\x80\x80", 2);  // U+0000 in 3 bytes
  expect_invalid_at("\xe0\x9f\xbf", 1);   // U+07FF in 3 bytes
  expect_invalid_at("\xf0\x80\x80\x80", 1);
  expect_invalid_at("\xf0\x8f\xbf\xbf", 1);  // U+FFFF in 4 bytes
  expect_invalid_at("\xf8\x88\x80\x80\x80", 0);
  expect_invalid_at("\xfc\x84\x80\x80\x80\x80", 0);
}

TEST(WebSocketUtf8, SurrogateHalves) {
  expect_invalid_at("\xed\xa0\x80", 1);              // U+D800
  expect_invalid_at("\xed\xad\xbf", 1);              // U+DB7F
  expect_invalid_at("\xed\xb0\x80", 1);              // U+DC00
  expect_invalid_at("\xed\xbf\xbf", 1);              // U+DFFF
  expect_invalid_at("\xed\xa0\x80\xed\xb0\x80", 1);  // a pair, as CESU-8 would write it
}

TEST(WebSocketUtf8, PastU10FFFF) {
  expect_invalid_at("\xf4\x90\x80\x80", 1);  // U+110000
  expect_invalid_at("\xf5\x80\x80\x80", 0);
  expect_invalid_at("\xf7\xbf\xbf\xbf", 0);
  expect_invalid_at("\xfe", 0);
  expect_invalid_at("\xff", 0);
}

TEST(WebSocketUtf8, StrayAndMissingContinuationBytes) {
  expect_invalid_at("\x80", 0);
  expect_invalid_at("ab\xbf", 2);
  expect_invalid_at("\xc2\x41", 1);  // a lead byte followed by ASCII
  expect_invalid_at("\xe1\x80\x41", 2);
  expect_invalid_at("\xf0\x9f\x98\x41", 3);
  expect_invalid_at(
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
      "edited",
      12);
}

TEST(WebSocketUtf8, TruncatedAtTheEnd) {
  expect_truncated("\xc2");
  expect_truncated("\xe0\xa0");
  expect_truncated("\xf0\x9f\x98");
  expect_truncated("\xce\xba\xe1\xbd");
}

TEST(WebSocketUtf8, ResetStartsAfresh) {
  Utf8Validator v;
  EXPECT_FALSE(v.feed("\xff"));
  v.reset();
  EXPECT_TRUE(v.feed("\xe2\x82"));
  EXPECT_FALSE(v.complete());
  v.reset();
  EXPECT_TRUE(v.complete());
}

}  // namespace
