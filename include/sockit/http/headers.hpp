// HTTP header fields: an ordered list with case-insensitive lookup, stored in one buffer so
// a reused list does not allocate per field.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::http {

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// Header fields in arrival order with case-insensitive lookup. Names and values live in one
// buffer, so a reused Headers (parser reset) does not allocate per field.
class Headers {
 public:
  void add(std::string_view name, std::string_view value);
  void clear() noexcept;
  // Appends " " + more to the last field's value (obsolete line folding).
  void append_to_last(std::string_view more);

  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  HeaderField operator[](std::size_t i) const noexcept;
  // The first field named `name` (any case), if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

 private:
  struct Slot {
    std::size_t name_at, name_len, value_at, value_len;
  };
  std::string text_;
  std::vector<Slot> fields_;
};

// True when a and b are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace sockit::http
