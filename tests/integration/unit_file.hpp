// Reading the systemd units in deploy/ as the tests run them: a unit's settings, and a
// command line split into words.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace sockit::test {

// A systemd unit file's `Key=value` settings (the last one of each key wins, as in systemd).
inline std::map<std::string, std::string> unit_settings(const std::string& path) {
  std::map<std::string, std::string> settings;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#' || line[0] == '[') continue;
    const std::size_t equals = line.find('=');
    if (equals != std::string::npos) settings[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return settings;
}

// The words of a command line such as ExecStart's (the units in deploy/ quote nothing).
inline std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;)
    words.push_back(word);
  return words;
}

}  // namespace sockit::test
