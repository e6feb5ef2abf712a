// Content types from file extensions: a built-in table for what web servers serve most,
// then the system's /etc/mime.types, both read once into a table every thread shares.
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sockit/http/static_files.hpp"

namespace sockit::http {
namespace {

struct BuiltIn {
  std::string_view extension;
  std::string_view type;
};

constexpr BuiltIn kBuiltIn[] = {
    {"html", "text/html"},        {"htm", "text/html"},
    {"css", "text/css"},          {"js", "text/javascript"},
    {"mjs", "text/javascript"},   {"json", "application/json"},
    {"map", "application/json"},  {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain"},        {"text", "text/plain"},
    {"log", "text/plain"},        {"md", "text/markdown"},
    {"csv", "text/csv"},          {"xml", "application/xml"},
    {"svg", "image/svg+xml"},     {"png", "image/png"},
    {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},         {"webp", "image/webp"},
    {"avif", "image/avif"},       {"ico", "image/x-icon"},
    {"bmp", "image/bmp"},         {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},   {"zip", "application/zip"},
    {"gz", "application/gzip"},   {"tgz", "application/gzip"},
    {"tar", "application/x-tar"}, {"bz2", "application/x-bzip2"},
    {"xz", "application/x-xz"},   {"zst", "application/zstd"},
    {"mp4", "video/mp4"},         {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},        {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},         {"woff", "font/woff"},
    {"woff2", "font/woff2"},      {"ttf", "font/ttf"},
    {"otf", "font/otf"},
};

// The /etc/mime.types of a broken system must not make every lookup slow or the table huge.
constexpr std::size_t kMaxSystemEntries = 16 * 1024;
constexpr std::size_t kMaxLine = 4096;

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = lower(c);
  return out;
}

// Text, and the textual application types browsers decode as text, name their charset.
std::string with_charset(std::string_view type) {
  std::string out(type);
  const bool textual = type.substr(0, 5) == "text/" || type == "application/json" ||
                       type == "application/javascript" || type == "application/xml" ||
                       type == "application/manifest+json";
  if (textual) out += "; charset=utf-8";
  return out;
}

using Table = std::unordered_map<std::string, std::string>;

void add_system_types(Table& table) {
  std::ifstream in("/etc/mime.types");
  if (!in) return;
  std::string line;
  std::size_t added = 0;
  while (std::getline(in, line) && added < kMaxSystemEntries) {
    if (line.size() > kMaxLine || line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string type;
    if (!(words >> type) || type.find('/') == std::string::npos) continue;
    std::string extension;
    while (words >> extension) {
      if (extension[0] == '#') break;
      // The built-in entries win: they carry the types browsers expect today.
      if (table.emplace(lowered(extension), with_charset(lowered(type))).second) ++added;
    }
  }
}

const Table& table() {
  // A function-local static: built once, thread-safe, read-only afterwards.
  static const Table instance = [] {
    Table t;
    for (const BuiltIn& entry : kBuiltIn) {
      t.emplace(std::string(entry.extension), with_charset(entry.type));
    }
    add_system_types(t);
    return t;
  }();
  return instance;
}

}  // namespace

std::string_view content_type_for(std::string_view file_name) {
  constexpr std::string_view unknown = "application/octet-stream";
  const std::size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const std::size_t dot = file_name.rfind('.');
  // ".bashrc" names a file, not an extension.
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == file_name.size()) return unknown;
  const Table& t = table();
  const auto it = t.find(lowered(file_name.substr(dot + 1)));
  return it == t.end() ? unknown : std::string_view(it->second);
}

}  // namespace sockit::http
