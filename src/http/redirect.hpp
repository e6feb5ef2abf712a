// How a followed redirect changes the next request: the method and body (RFC 9110 section
// 15.4) and which secrets stay behind when it leaves the origin. Internal to libsockit.
#pragma once

#include "sockit/http/client.hpp"

namespace sockit::http::detail {

// Same scheme, host and port.
bool same_origin(const Url& a, const Url& b) noexcept;

// Turns `request` (what was sent to `from`) into what goes to `to` after a redirect with
// `status`: 301/302 make a POST a GET without body, 303 makes anything but HEAD a GET
// without body, 307/308 keep both. Leaving the origin drops Authorization, Cookie,
// Proxy-Authorization and a Host the caller set. False when the redirect cannot be
// followed: a streamed body that would have to be sent again cannot be rewound.
bool redirect_request(int status, const Url& from, const Url& to, RequestOptions& request);

}  // namespace sockit::http::detail
