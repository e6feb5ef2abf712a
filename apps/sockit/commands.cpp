#include "commands.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace sockit::cli {
namespace {

// A function-local static: registrations from other files' static initialisers may run
// before this file's.
std::vector<std::pair<int, Registrar>>& registry() {
  static std::vector<std::pair<int, Registrar>> entries;
  return entries;
}

}  // namespace

CommandRegistration::CommandRegistration(int order, Registrar registrar) {
  registry().emplace_back(order, registrar);
}

void register_all(CLI::App& app, int& exit_code) {
  auto entries = registry();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, registrar] : entries)
    registrar(app, exit_code);
}

}  // namespace sockit::cli
