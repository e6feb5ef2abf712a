// The server's half of the opening handshake: which requests are upgrades, the checks of
// RFC 6455 section 4.2.1 each with the status it deserves, and the answer's bytes.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "field_tokens.hpp"
#include "sockit/websocket/handshake.hpp"

namespace sockit::websocket {

namespace {

constexpr int switching_protocols = 101;
constexpr int bad_request = 400;
constexpr int forbidden = 403;
constexpr int method_not_allowed = 405;
constexpr int upgrade_required = 426;

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case switching_protocols:
      return "Switching Protocols";
    case forbidden:
      return "Forbidden";
    case method_not_allowed:
      return "Method Not Allowed";
    case upgrade_required:
      return "Upgrade Required";
    default:
      return "Bad Request";
  }
}

UpgradeAnswer refuse(int status, std::string detail) {
  UpgradeAnswer answer;
  answer.status = status;
  answer.detail = std::move(detail);
  if (status == upgrade_required) {
    answer.headers.add("Upgrade", "websocket");
    answer.headers.add("Sec-WebSocket-Version", "13");
  }
  if (status == method_not_allowed) answer.headers.add("Allow", "GET");
  return answer;
}

// The one field named `name`, or nothing when it is missing or repeated.
std::optional<std::string_view> single(const http::Headers& headers, std::string_view name) {
  const auto all = headers.get_all(name);
  if (all.size() != 1) return std::nullopt;
  return all.front();
}

// Whether `origin` ("http://host:port") names the server the request reached (`host`, the
// Host field).
bool same_origin(std::string_view origin, std::optional<std::string_view> host) {
  if (!host || host->empty()) return false;
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() > scheme.size() && http::iequals(origin.substr(0, scheme.size()), scheme)) {
      return http::iequals(origin.substr(scheme.size()), *host);
    }
  }
  return false;
}

}  // namespace

bool is_upgrade_request(const http::RequestHead& request) noexcept {
  return detail::lists_token(request.headers, "upgrade", "websocket");
}

UpgradeAnswer accept_upgrade(const http::RequestHead& request,
                             const ServerHandshakeOptions& options) {
  const http::Headers& headers = request.headers;
  if (request.method != "GET") {
    return refuse(method_not_allowed, "a WebSocket upgrade must be a GET, not " + request.method);
  }
  if (request.version_minor < 1) return refuse(bad_request, "a WebSocket upgrade needs HTTP/1.1");
  if (!is_upgrade_request(request)) {
    return refuse(upgrade_required, "this resource is served over WebSocket only");
  }
  if (!detail::lists_token(headers, "connection", "upgrade")) {
    return refuse(bad_request, "the Connection header does not list upgrade");
  }
  const auto version = single(headers, "sec-websocket-version");
  if (!version || *version != "13") {
    return refuse(upgrade_required, version ? "unsupported Sec-WebSocket-Version (13 is spoken)"
                                            : "one Sec-WebSocket-Version header is required");
  }
  const auto key = single(headers, "sec-websocket-key");
  if (!key) return refuse(bad_request, "one Sec-WebSocket-Key header is required");
  if (!valid_key(*key)) {
    return refuse(bad_request, "Sec-WebSocket-Key is not the base64 of 16 bytes");
  }
  const auto origins = headers.get_all("origin");
  if (origins.size() > 1) return refuse(bad_request, "more than one Origin header");
  if (!options.allowed_origins.empty() && !origins.empty()) {
    const std::string_view origin = origins.front();
    const bool allowed =
        std::any_of(options.allowed_origins.begin(), options.allowed_origins.end(),
                    [&](const std::string& o) { return http::iequals(o, origin); });
    if (!allowed) {
      std::string why = "origin ";
      why.append(origin);
      why += " is not allowed";
      return refuse(forbidden, why);
    }
  }
  if (options.allowed_origins.empty() && options.same_origin && !origins.empty() &&
      !same_origin(origins.front(), single(headers, "host"))) {
    std::string why = "origin ";
    why.append(origins.front());
    why += " is not this server's own";
    return refuse(forbidden, why);
  }
  UpgradeAnswer answer;
  answer.status = switching_protocols;
  answer.headers.add("Upgrade", "websocket");
  answer.headers.add("Connection", "Upgrade");
  answer.headers.add("Sec-WebSocket-Accept", accept_key(*key));
  return answer;
}

std::string UpgradeAnswer::to_bytes() const {
  std::string out = "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out.append(reason_phrase(status));
  out += "\r\n";
  for (std::size_t i = 0; i < headers.size(); ++i) {
    out.append(headers[i].name);
    out += ": ";
    out.append(headers[i].value);
    out += "\r\n";
  }
  if (accepted()) {
    out += "\r\n";
    return out;
  }
  const std::string body = detail + "\n";
  out += "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += "\r\nConnection: close\r\n\r\n";
  out += body;
  return out;
}

}  // namespace sockit::websocket
