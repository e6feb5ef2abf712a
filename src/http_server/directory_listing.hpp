// The HTML page listing a directory for a static server that allows listings: names
// escaped in text and links, sorted, bounded however many entries the directory holds.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sockit::http::detail {

struct ListingRules {
  bool show_dotfiles = false;
  bool follow_symlinks = false;  // when off, symlinks are not listed (they would be 404)
  std::size_t max_entries = 10'000;
};

// The page for the directory open (O_RDONLY) at `dir` (borrowed), reached as
// `request_path` ("/docs/"): "../" unless at the root, directories with a trailing '/'.
// Past `max_entries` the first names in order are kept and the rest counted ("N more not
// shown"). Nothing, with `err` set, when the directory cannot be read.
std::optional<std::string> directory_listing(int dir, std::string_view request_path,
                                             const ListingRules& rules, int& err);

}  // namespace sockit::http::detail
