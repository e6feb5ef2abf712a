// Lines across pieces: the common case (a whole line in one piece) is a view into the input;
// only a line split across pieces is copied, once.
#include "line_reader.hpp"

namespace sockit::http::detail {

LineReader::Status LineReader::take(std::string_view input, std::size_t& pos,
                                    std::string_view& line, std::size_t& used, std::size_t limit) {
  if (taken_) clear();
  const std::string_view rest = input.substr(pos);
  const auto newline = rest.find('\n');
  const std::size_t have =
      buf_.size() + (newline == std::string_view::npos ? rest.size() : newline + 1);
  if (used > limit || have > limit - used) return Status::too_long;
  if (newline == std::string_view::npos) {
    buf_.append(rest);
    pos = input.size();
    return Status::need_more;
  }
  if (buf_.empty()) {
    line = rest.substr(0, newline);
  } else {
    buf_.append(rest.substr(0, newline));
    line = buf_;
  }
  taken_ = true;
  used += have;
  pos += newline + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return Status::line;
}

}  // namespace sockit::http::detail
