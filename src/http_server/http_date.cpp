// HTTP dates: formatting the IMF-fixdate servers send and parsing the three forms RFC 9110
// asks recipients to accept. No locale and no shared state, so any thread may call them.
#include <time.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sockit/http/static_files.hpp"

namespace sockit::http {
namespace {

constexpr std::array<std::string_view, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongWeekdays = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void put_two(std::string& out, int v) {
  out += static_cast<char>('0' + v / 10);
  out += static_cast<char>('0' + v % 10);
}

// A cursor over the date text; every take_* fails (returns false) rather than reading past
// the end, so a truncated date is simply malformed.
struct Reader {
  std::string_view text;
  std::size_t pos = 0;

  bool literal(std::string_view s) {
    if (text.substr(pos, s.size()) != s) return false;
    pos += s.size();
    return true;
  }
  // Exactly `digits` digits, or 1-2 when `digits` is 0 (asctime's space-padded day).
  bool number(std::size_t digits, int& out) {
    std::size_t n = 0;
    out = 0;
    while (pos + n < text.size() && text[pos + n] >= '0' && text[pos + n] <= '9' &&
           (digits == 0 ? n < 2 : n < digits)) {
      out = out * 10 + (text[pos + n] - '0');
      ++n;
    }
    if (n == 0 || (digits != 0 && n != digits)) return false;
    pos += n;
    return true;
  }
  bool month(int& out) {
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
      if (text.substr(pos, 3) == kMonths[i]) {
        out = static_cast<int>(i) + 1;
        pos += 3;
        return true;
      }
    }
    return false;
  }
  bool time_of_day(int& h, int& m, int& s) {
    return number(2, h) && literal(":") && number(2, m) && literal(":") && number(2, s);
  }
  bool at_end() const { return pos == text.size(); }
};

std::optional<std::chrono::system_clock::time_point> make_time(int year, int month, int day, int h,
                                                               int m, int s) {
  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year},
                            std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  // 60 admits a leap second, which is then folded into the next minute.
  if (!date.ok() || h > 23 || m > 59 || s > 60) return std::nullopt;
  return system_clock::time_point{sys_days{date}} + hours{h} + minutes{m} + seconds{s};
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<std::chrono::system_clock::time_point> parse_fixdate(Reader r) {
  int day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
  if (!(r.number(2, day) && r.literal(" ") && r.month(month) && r.literal(" ") &&
        r.number(4, year) && r.literal(" ") && r.time_of_day(h, m, s) && r.literal(" GMT") &&
        r.at_end()))
    return std::nullopt;
  return make_time(year, month, day, h, m, s);
}

// "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<std::chrono::system_clock::time_point> parse_rfc850(Reader r) {
  int day = 0, month = 0, yy = 0, h = 0, m = 0, s = 0;
  if (!(r.number(2, day) && r.literal("-") && r.month(month) && r.literal("-") && r.number(2, yy) &&
        r.literal(" ") && r.time_of_day(h, m, s) && r.literal(" GMT") && r.at_end()))
    return std::nullopt;
  // Two-digit years: 70-99 are the 1900s (no HTTP date predates 1970), the rest 2000s.
  return make_time(yy >= 70 ? 1900 + yy : 2000 + yy, month, day, h, m, s);
}

// "Sun Nov  6 08:49:37 1994"
std::optional<std::chrono::system_clock::time_point> parse_asctime(Reader r) {
  int day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
  if (!(r.month(month) && r.literal(" "))) return std::nullopt;
  r.literal(" ");  // the pad of a one-digit day
  if (!(r.number(0, day) && r.literal(" ") && r.time_of_day(h, m, s) && r.literal(" ") &&
        r.number(4, year) && r.at_end()))
    return std::nullopt;
  return make_time(year, month, day, h, m, s);
}

}  // namespace

std::string format_http_date(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) tm = std::tm{};
  std::string out;
  out.reserve(29);
  out += kWeekdays[static_cast<std::size_t>(tm.tm_wday) % 7];
  out += ", ";
  put_two(out, tm.tm_mday);
  out += ' ';
  out += kMonths[static_cast<std::size_t>(tm.tm_mon) % 12];
  out += ' ';
  const int year = tm.tm_year + 1900;
  put_two(out, (year / 100) % 100);
  put_two(out, year % 100);
  out += ' ';
  put_two(out, tm.tm_hour);
  out += ':';
  put_two(out, tm.tm_min);
  out += ':';
  put_two(out, tm.tm_sec);
  out += " GMT";
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  for (std::string_view day : kLongWeekdays) {
    Reader r{text};
    if (r.literal(day) && r.literal(", ")) return parse_rfc850(r);
  }
  for (std::string_view day : kWeekdays) {
    Reader r{text};
    if (!r.literal(day)) continue;
    if (r.literal(", ")) return parse_fixdate(r);
    if (r.literal(" ")) return parse_asctime(r);
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace sockit::http
