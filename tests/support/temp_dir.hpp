// Test support: a fresh private directory (mkdtemp), removed with everything in it when the
// test ends. Unique per test, so tests can run in parallel.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace sockit::test {

class TempDir {
 public:
  // `mode` other than 0700 (mkdtemp's) for directories other users' processes must enter,
  // such as an nginx worker's.
  explicit TempDir(std::string_view prefix = "sockit", ::mode_t mode = 0700) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
    if (mode != 0700) ::chmod(path_.c_str(), mode);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }
  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path_),
                                                  std::filesystem::directory_iterator()));
  }

 private:
  std::filesystem::path path_;
};

}  // namespace sockit::test
