// Internal: the answer for a page the library serves from memory (the chat page, the live
// metrics page): HTML whose style and script are inline, allowed nothing from elsewhere but
// WebSockets to its own origin, and revalidated on every load.
#pragma once

#include <string>
#include <string_view>

#include "sockit/http/http_service.hpp"

namespace sockit::http::detail {

inline Response inline_page(std::string_view html) {
  Response page = Response::html(200, std::string(html));
  page.header("Cache-Control", "no-cache");
  page.header("Content-Security-Policy",
              "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
              "connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'");
  return page;
}

}  // namespace sockit::http::detail
