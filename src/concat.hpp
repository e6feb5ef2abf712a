// Joins pieces of text into one string with a single allocation. Used where error messages
// are built, instead of `"literal" + std::string` temporaries, which make g++ 12 -O3 report
// a false -Wrestrict overlap. Internal to libsockit.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sockit::detail {

inline std::string concat(std::initializer_list<std::string_view> parts) {
  std::size_t total = 0;
  for (auto part : parts)
    total += part.size();
  std::string text;
  text.reserve(total);
  for (auto part : parts)
    text.append(part);
  return text;
}

}  // namespace sockit::detail
