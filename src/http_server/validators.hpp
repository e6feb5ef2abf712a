// Entity tags for files and the comparisons conditional requests need (RFC 9110 section
// 8.8.3 and 13.1): If-None-Match lists with weak comparison, If-Range with strong.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>

namespace sockit::http::detail {

// "\"<size hex>-<mtime ns hex>\"" plus `suffix` inside the quotes ("-gz" for a gzip body).
// Strong, not W/: with the nanosecond mtime and the size, two different contents share a
// tag only if rewritten at the same size within one timestamp tick, and a strong tag is
// what lets If-Range resume a download (a weak one never matches there). A gzip body made
// here is byte-identical for the same input and zlib, so it may be strong too.
std::string file_etag(const struct stat& st, std::string_view suffix = {});

// If-None-Match: true when `field` is "*" or lists a tag equal to `etag` under weak
// comparison (W/ prefixes ignored).
bool none_match_hits(std::string_view field, std::string_view etag) noexcept;

// If-Range with an entity tag: true only for a strong match (neither tag weak).
bool strong_match(std::string_view tag, std::string_view etag) noexcept;

}  // namespace sockit::http::detail
