// HTTP/1.1 in libsockit, all in one include: URL parsing (http/https, IPv6 literals), sans-I/O
// request and response parsers usable from blocking or evented code, request-target
// decoding for servers, and a small blocking client over sockit::Stream (any method,
// kept-alive connections, redirects) that streams the body to a callback.
//   sockit/http/url.hpp              Url, parse_url, resolve_reference
//   sockit/http/headers.hpp          Headers, HeaderField, iequals
//   sockit/http/response_parser.hpp  ResponseParser, ResponseHead, ProtocolError, limits
//   sockit/http/request_parser.hpp   RequestParser, RequestHead, RequestError, RequestLimits
//   sockit/http/request_target.hpp   decode_target, encode_path
//   sockit/http/client.hpp           Client, RequestOptions, RequestBody, get, Response
// The server (HttpService, StaticFiles: sockit/http/http_service.hpp) is the separate
// library sockit_http_server (target sockit::http_server), which adds zlib.
#pragma once

#include "sockit/http/client.hpp"
#include "sockit/http/headers.hpp"
#include "sockit/http/request_parser.hpp"
#include "sockit/http/request_target.hpp"
#include "sockit/http/response_parser.hpp"
#include "sockit/http/url.hpp"
