// Comma-separated header lists (Connection, Upgrade) searched for a token, ignoring case;
// internal to sockit_websocket.
#pragma once

#include <string_view>

#include "sockit/http/headers.hpp"

namespace sockit::websocket::detail {

// Whether any field named `name` lists `token` (RFC 9110 section 5.6.1 lists, any case).
inline bool lists_token(const http::Headers& headers, std::string_view name,
                        std::string_view token) noexcept {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto field = headers[i];
    if (!http::iequals(field.name, name)) continue;
    std::string_view rest = field.value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
        item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
        item.remove_suffix(1);
      if (http::iequals(item, token)) return true;
    }
  }
  return false;
}

}  // namespace sockit::websocket::detail
