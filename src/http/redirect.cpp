// The redirect rules of the client: method and body per status, and credentials kept to
// the origin they were given for.
#include "redirect.hpp"

#include <algorithm>
#include <string_view>

namespace sockit::http::detail {

bool same_origin(const Url& a, const Url& b) noexcept {
  return a.scheme == b.scheme && a.port == b.port && iequals(a.host, b.host);
}

namespace {

void drop_headers(RequestOptions& request, std::initializer_list<std::string_view> names) {
  std::erase_if(request.headers, [names](const auto& header) {
    return std::any_of(names.begin(), names.end(),
                       [&header](std::string_view name) { return iequals(header.first, name); });
  });
}

}  // namespace

bool redirect_request(int status, const Url& from, const Url& to, RequestOptions& request) {
  const bool to_get = ((status == 301 || status == 302) && request.method == "POST") ||
                      (status == 303 && request.method != "HEAD");
  if (to_get) {
    request.method = "GET";
    if (request.body) {
      request.body.reset();
      drop_headers(request, {"content-type"});
    }
  } else if (request.body && request.body->streamed()) {
    if (!request.body->rewind || !request.body->rewind()) return false;
  }
  // A secret the caller gave for one origin is not the business of another (curl keeps
  // them only with --location-trusted); a Host the caller chose named the old origin.
  if (!same_origin(from, to)) {
    drop_headers(request, {"authorization", "cookie", "proxy-authorization", "host"});
  }
  return true;
}

}  // namespace sockit::http::detail
