// Request heads for the client: the method, the target, default and caller headers, and the
// body's length; nothing a caller passes may break the framing of the request.
#include <algorithm>
#include <string>
#include <utility>

#include "sockit/error.hpp"
#include "sockit/http/client.hpp"
#include "syntax.hpp"

namespace sockit::http {

using detail::is_token_char;
using detail::quote;

namespace {

void check_request_header(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    throw Error(make_error_code(errc::invalid_argument), "request header", quote(name),
                "invalid header name");
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') {
      throw Error(make_error_code(errc::invalid_argument), "request header", quote(name),
                  "value contains a line break or NUL");
    }
  }
  // The body's framing is the client's to say: a second length would let the caller's
  // bytes be read as another request.
  if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) {
    throw Error(make_error_code(errc::invalid_argument), "request header", quote(name),
                "set by the client from the body");
  }
}

}  // namespace

bool is_idempotent(std::string_view method) noexcept {
  for (std::string_view m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
    if (method == m) return true;
  }
  return false;
}

std::string build_request(std::string_view method, const Url& url,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::string_view user_agent, std::optional<std::uint64_t> body_length,
                          std::string_view connection) {
  if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) {
    throw Error(make_error_code(errc::invalid_argument), "request method", quote(method),
                "not a token");
  }
  for (const auto& [name, value] : headers)
    check_request_header(name, value);
  const std::pair<std::string_view, std::string_view> defaults[] = {
      {"Host", {}},
      {"User-Agent", user_agent},
      {"Accept", "*/*"},
      {"Connection", connection},
  };
  const std::string host = url.authority();
  std::string request;
  request.append(method);
  request += ' ';
  request += url.target;
  request += " HTTP/1.1\r\n";
  auto add = [&request](std::string_view name, std::string_view value) {
    if (value.empty()) return;  // an empty value removes the header, as with curl -H 'X:'
    request.append(name);
    request += ": ";
    request.append(value);
    request += "\r\n";
  };
  auto is_default = [&defaults](std::string_view name) {
    return std::any_of(std::begin(defaults), std::end(defaults),
                       [name](const auto& d) { return iequals(d.first, name); });
  };
  for (const auto& [name, value] : defaults) {
    std::string_view chosen = name == "Host" ? std::string_view(host) : value;
    for (const auto& [extra_name, extra_value] : headers) {
      if (iequals(extra_name, name)) chosen = extra_value;  // the last one given wins
    }
    add(name, chosen);
  }
  for (const auto& [name, value] : headers) {
    if (!is_default(name)) add(name, value);
  }
  if (body_length) add("Content-Length", std::to_string(*body_length));
  request += "\r\n";
  return request;
}

std::string build_get_request(const Url& url, const GetOptions& options) {
  return build_request("GET", url, options.headers, options.user_agent, std::nullopt, "close");
}

}  // namespace sockit::http
