// The bounds on queued output (see output_budget.hpp).
#include "output_budget.hpp"

namespace sockit::server::detail {

std::string OutputBudget::closing_line(std::string_view who, std::size_t queued) const {
  std::string line = "closing ";
  line += who;
  line += ": ";
  line += std::to_string(queued);
  line += " bytes of output unread";
  if (per_connection_ == 0 || queued <= per_connection_) {
    line += ", ";
    line += std::to_string(used());
    line += " in all past the server's bound of ";
    line += std::to_string(total_);
  }
  line += " (client too slow)";
  return line;
}

}  // namespace sockit::server::detail
