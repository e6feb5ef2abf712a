// Percent-encoding a decoded path for a Location header or an href. Local to the static
// file server so that it does not depend on the request-target module's encoder.
#pragma once

#include <string>
#include <string_view>

namespace sockit::http::detail {

// Keeps unreserved bytes (RFC 3986: A-Z a-z 0-9 - . _ ~) and '/', encodes every other
// byte as %XX, so no quote, '<', ':', '?', '#' or control byte survives into the result.
std::string encode_href_path(std::string_view path);

}  // namespace sockit::http::detail
