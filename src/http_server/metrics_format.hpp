// A server's counters (sockit/server/metrics.hpp) and its process's figures written out for
// the metrics door (sockit/http/metrics_web.hpp): the Prometheus text exposition format for
// /metrics and JSON for /stats and the live page. Pure functions, apart from the reading of
// /proc.
//   std::string text = prometheus_text(server.metrics(), read_process_stats());
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sockit/server/metrics.hpp"

namespace sockit::http {

// The process's own figures, as Prometheus client libraries name them (process_*).
struct ProcessStats {
  // User and system CPU time of the process and of the children it has reaped (wait()ed
  // for): a fork or prefork child's time counts once it has exited, not while it runs.
  double cpu_seconds = 0;
  std::uint64_t resident_bytes = 0;  // resident set size
  std::uint64_t open_fds = 0;        // descriptors open, the one that counted them aside
  double start_time_seconds = 0;     // when the process started, Unix time
  double read_at_seconds = 0;        // when these were read, Unix time
};

// From /proc/self/stat, /proc/self/fd and /proc/stat (the boot time).
// Throws sockit::Error naming the file it could not read or parse.
ProcessStats read_process_stats();

// The Content-Type of prometheus_text's output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// The Prometheus text exposition format (version 0.0.4): sockit_info, the gauge
// sockit_connections_open, then every counter family as sockit_<family>_total with a
// `worker` label on each series (and the counter's own label, e.g. reason="idle"), each
// family's series together under one HELP and TYPE; then the process_* metrics.
std::string prometheus_text(const server::ServerMetrics& metrics, const ProcessStats& process);

// The same as one JSON object:
//   {"service": "echo", "architecture": "reactor", "open": 2,
//    "total": {"connections_accepted": 5, "connections_closed": {"eof": 3, ...}, ...},
//    "workers": [{"worker": "0", "counters": {...as total}}, ...],
//    "process": {"cpu_seconds": 0.5, "resident_bytes": ..., "open_fds": ...,
//                "start_time_seconds": ..., "time_seconds": ...}}
// A family with a label is an object of its values ("connections_closed": {"eof": 3}).
std::string stats_json(const server::ServerMetrics& metrics, const ProcessStats& process);

}  // namespace sockit::http
