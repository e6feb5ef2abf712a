// Header fields in one buffer, with case-insensitive lookup.
#include "sockit/http/headers.hpp"

#include "syntax.hpp"

namespace sockit::http {

using detail::lower;

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void Headers::add(std::string_view name, std::string_view value) {
  const Slot slot{text_.size(), name.size(), text_.size() + name.size(), value.size()};
  text_.append(name);
  text_.append(value);
  fields_.push_back(slot);
}

void Headers::append_to_last(std::string_view more) {
  if (fields_.empty()) return;
  // The last value always ends the buffer, so it can grow in place.
  text_ += ' ';
  text_.append(more);
  fields_.back().value_len += 1 + more.size();
}

void Headers::clear() noexcept {
  text_.clear();
  fields_.clear();
}

HeaderField Headers::operator[](std::size_t i) const noexcept {
  const Slot& s = fields_[i];
  const std::string_view all = text_;
  return {all.substr(s.name_at, s.name_len), all.substr(s.value_at, s.value_len)};
}

std::optional<std::string_view> Headers::get(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const auto field = (*this)[i];
    if (iequals(field.name, name)) return field.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> values;
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const auto field = (*this)[i];
    if (iequals(field.name, name)) values.push_back(field.value);
  }
  return values;
}

}  // namespace sockit::http
