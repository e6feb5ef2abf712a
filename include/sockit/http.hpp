// HTTP/1.1 client pieces, all in one include: URL parsing (http/https, IPv6 literals), a
// sans-I/O response parser (status line, headers, Content-Length / chunked / read-to-EOF
// bodies, 1xx skipped) usable from blocking or evented code, and a small blocking client over
// sockit::Stream (any method, kept-alive connections, redirects) that streams the body to a
// callback.
//   sockit/http/url.hpp              Url, parse_url, resolve_reference
//   sockit/http/headers.hpp          Headers, HeaderField, iequals
//   sockit/http/response_parser.hpp  ResponseParser, ResponseHead, ProtocolError, limits
//   sockit/http/client.hpp           Client, RequestOptions, RequestBody, get, Response
#pragma once

#include "sockit/http/client.hpp"
#include "sockit/http/headers.hpp"
#include "sockit/http/response_parser.hpp"
#include "sockit/http/url.hpp"
