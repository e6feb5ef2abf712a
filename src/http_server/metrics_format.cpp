// A server's counters as Prometheus text and as JSON (see metrics_format.hpp).
#include "metrics_format.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/file_descriptor.hpp"

namespace sockit::http {
namespace {

using server::Counter;
using server::CounterValues;
using server::ServerMetrics;

// ---- reading /proc ----

std::string read_file(const char* path) {
  FileDescriptor fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("open", path, errno);
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", path, errno);
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

[[noreturn]] void unparsable(const char* path, std::string_view what) {
  throw_error(errc::invalid_argument, "parse", path, what);
}

std::uint64_t parse_number(std::string_view text, const char* path) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) unparsable(path, "not a number");
  return value;
}

// The fields of /proc/self/stat after the command name (which may hold spaces and
// parentheses, so the last ')' ends it): [0] is field 3, the state.
std::vector<std::string_view> stat_fields(std::string_view stat, const char* path) {
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) unparsable(path, "no command name");
  stat.remove_prefix(close + 1);
  std::vector<std::string_view> fields;
  while (!stat.empty()) {
    const std::size_t start = stat.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    stat.remove_prefix(start);
    const std::size_t end = stat.find_first_of(" \n");
    fields.push_back(stat.substr(0, end));
    stat.remove_prefix(end == std::string_view::npos ? stat.size() : end);
  }
  return fields;
}

// Seconds since the epoch at boot, the "btime" line of /proc/stat.
std::uint64_t boot_time() {
  constexpr const char* path = "/proc/stat";
  const std::string stat = read_file(path);
  const std::size_t at = stat.find("\nbtime ");
  if (at == std::string::npos) unparsable(path, "no btime line");
  const std::size_t start = at + 7;
  const std::size_t end = stat.find('\n', start);
  return parse_number(std::string_view(stat).substr(start, end - start), path);
}

std::uint64_t count_open_fds() {
  constexpr const char* path = "/proc/self/fd";
  const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path), ::closedir);
  if (!dir) throw_errno("opendir", path, errno);
  const std::string own = std::to_string(::dirfd(dir.get()));
  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != ".." && name != own) ++count;
  }
  return count;
}

// ---- the exposition ----

std::string format_double(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return {buffer, result.ptr};
}

// A label value with \, " and newline escaped, as the text format asks.
std::string label_value(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

struct Family {
  std::string_view name;
  std::vector<Counter> counters;
};

// The counter families in the order of their first counter.
const std::vector<Family>& families() {
  static const std::vector<Family> list = [] {
    std::vector<Family> result;
    for (std::size_t i = 0; i < server::kCounterCount; ++i) {
      const auto counter = static_cast<Counter>(i);
      const std::string_view name = server::counter_name(counter).family;
      Family* family = nullptr;
      for (auto& f : result) {
        if (f.name == name) family = &f;
      }
      if (family == nullptr) family = &result.emplace_back(Family{name, {}});
      family->counters.push_back(counter);
    }
    return result;
  }();
  return list;
}

std::string_view family_help(std::string_view family) {
  struct Help {
    std::string_view family;
    std::string_view text;
  };
  static constexpr Help helps[] = {
      {"connections_accepted", "Connections admitted."},
      {"connections_refused",
       "Connections turned away, by reason: full (the server's connection limit), per_ip (the "
       "per-address limit)."},
      {"connections_closed",
       "Connections closed, by reason: eof (the peer's end of stream), reset (by the peer), "
       "idle (the idle timeout), error (another I/O error or a failed session), server (ended "
       "by the server: the session, a drain, a slow reader)."},
      {"received_bytes", "Bytes read from clients."},
      {"sent_bytes", "Bytes the kernel took for clients."},
      {"messages_received",
       "Messages from clients as the protocol frames them: lines, WebSocket messages, HTTP "
       "requests."},
      {"messages_sent", "Messages to clients: writes by sessions and sends through their peers."},
      {"messages_refused", "Messages refused, by reason: rate (the per-connection rate limit)."},
      {"tls_handshakes", "TLS handshakes completed."},
      {"tls_handshake_failures", "TLS handshakes failed."},
  };
  for (const auto& help : helps) {
    if (help.family == family) return help.text;
  }
  return "A sockit server counter.";
}

void head(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels,
            std::string_view value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(value).append("\n");
}

// The series of one family: per worker, or (with no workers) the totals unlabelled.
void counter_family(std::string& out, const Family& family, const ServerMetrics& metrics) {
  const std::string name = "sockit_" + std::string(family.name) + "_total";
  head(out, name, family_help(family.name), "counter");
  auto series = [&](std::string_view worker, const CounterValues& counts) {
    for (Counter counter : family.counters) {
      const server::CounterName label = server::counter_name(counter);
      std::string labels;
      if (!worker.empty()) labels = "worker=\"" + label_value(worker) + "\"";
      if (!label.label.empty()) {
        if (!labels.empty()) labels += ",";
        labels.append(label.label).append("=\"").append(label_value(label.value)).append("\"");
      }
      sample(out, name, labels, std::to_string(counts[counter]));
    }
  };
  if (metrics.workers.empty()) {
    series({}, metrics.total);
    return;
  }
  for (const auto& worker : metrics.workers)
    series(worker.worker, worker.counts);
}

nlohmann::ordered_json counters_json(const CounterValues& counts) {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (const auto& family : families()) {
    const std::string name(family.name);
    for (Counter counter : family.counters) {
      const server::CounterName label = server::counter_name(counter);
      if (label.label.empty()) {
        object[name] = counts[counter];
      } else {
        object[name][std::string(label.value)] = counts[counter];
      }
    }
  }
  return object;
}

}  // namespace

ProcessStats read_process_stats() {
  constexpr const char* path = "/proc/self/stat";
  const std::string stat = read_file(path);
  const std::vector<std::string_view> fields = stat_fields(stat, path);
  // Fields 14-17 (utime, stime, cutime, cstime), 22 (starttime) and 24 (rss), counted
  // from 1 with the state as field 3.
  if (fields.size() < 22) unparsable(path, "too few fields");
  auto field = [&](std::size_t number) { return parse_number(fields[number - 3], path); };
  const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  ProcessStats stats;
  stats.cpu_seconds = static_cast<double>(field(14) + field(15) + field(16) + field(17)) / ticks;
  stats.resident_bytes = field(24) * page;
  stats.start_time_seconds =
      static_cast<double>(boot_time()) + static_cast<double>(field(22)) / ticks;
  stats.open_fds = count_open_fds();
  stats.read_at_seconds =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return stats;
}

std::string prometheus_text(const ServerMetrics& metrics, const ProcessStats& process) {
  std::string out;
  head(out, "sockit_info", "The service and the architecture serving it.", "gauge");
  sample(out, "sockit_info",
         "service=\"" + label_value(metrics.service) + "\",architecture=\"" +
             label_value(metrics.architecture) + "\"",
         "1");
  head(out, "sockit_connections_open", "Connections open now: accepted and not yet closed.",
       "gauge");
  sample(out, "sockit_connections_open", {}, std::to_string(metrics.open));
  for (const auto& family : families())
    counter_family(out, family, metrics);
  head(out, "process_cpu_seconds_total",
       "Total user and system CPU time spent in seconds, by this process and the children it "
       "has reaped (a fork or prefork child's time counts once it has exited).",
       "counter");
  sample(out, "process_cpu_seconds_total", {}, format_double(process.cpu_seconds));
  head(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
  sample(out, "process_resident_memory_bytes", {}, std::to_string(process.resident_bytes));
  head(out, "process_open_fds", "Number of open file descriptors.", "gauge");
  sample(out, "process_open_fds", {}, std::to_string(process.open_fds));
  head(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
       "gauge");
  sample(out, "process_start_time_seconds", {}, format_double(process.start_time_seconds));
  return out;
}

std::string stats_json(const ServerMetrics& metrics, const ProcessStats& process) {
  nlohmann::ordered_json json;
  json["service"] = metrics.service;
  json["architecture"] = metrics.architecture;
  json["open"] = metrics.open;
  json["total"] = counters_json(metrics.total);
  json["workers"] = nlohmann::ordered_json::array();
  for (const auto& worker : metrics.workers) {
    json["workers"].push_back(
        {{"worker", worker.worker}, {"counters", counters_json(worker.counts)}});
  }
  json["process"] = {{"cpu_seconds", process.cpu_seconds},
                     {"resident_bytes", process.resident_bytes},
                     {"open_fds", process.open_fds},
                     {"start_time_seconds", process.start_time_seconds},
                     {"time_seconds", process.read_at_seconds}};
  // Names from outside the program that are not UTF-8 are sent with U+FFFD, not refused.
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace sockit::http
