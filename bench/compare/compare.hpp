// The benchmark harness: the same load (sockit bench's load generator) against a service on
// several server architectures (and optionally other echo servers), each pinned to its own
// core, with the server's CPU time per message as the figure that separates them on a
// small machine.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bench_load.hpp"

namespace sockit::cli::bench {

struct CompareOptions {
  std::string sockit;              // the sockit executable that serves the architectures
  std::vector<std::string> archs;  // sockit serve --arch names
  // Passed to every `sockit serve` after the harness's own (e.g. --max-line 8192, which
  // puts echo on the line-by-line path every other line protocol takes).
  std::vector<std::string> serve_args;
  // Other servers: a name and a program that takes `--port 0` and prints
  // "listening on HOST:PORT" on stderr (bench/peers/).
  std::vector<std::pair<std::string, std::string>> peers;
  std::string baseline;  // ratios are against this target; empty: the first one
  std::string service = "echo";
  LoadOptions load;  // server is filled in per target
  unsigned rounds = 3;
  unsigned workers = 0;  // 0: hybrid 1 (one core), pool/prefork one per connection
  int server_cpu = -1;   // -1: the first CPU this process may use
  int load_cpu = -1;     // -1: the second, when there is one
  std::string plot;      // SVG file to write, if not empty
  // Count the servers' system calls during each measured round (perf, else strace). The
  // tracing costs the server CPU: the CPU figures of such a run are not for comparison.
  bool syscalls = false;
  // Load at the start of each measured round that is not measured: with thousands of
  // connections, opening them would otherwise weigh in every round's CPU per message.
  std::chrono::milliseconds settle{0};
};

// One measured round against one target.
struct RoundResult {
  double rate = 0;
  double mib_per_second = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
  double cpu_us_per_message = 0;      // server process tree, utime + stime
  double core_us_per_message = 0;     // busy time of the server's core (/proc/stat)
  double rss_kib_per_connection = 0;  // idle mode only
  double syscalls_per_message = -1;   // CompareOptions::syscalls only; -1: not counted
  std::uint64_t messages = 0;
  std::uint64_t errors = 0;
};

struct TargetResult {
  std::string name;
  unsigned workers = 0;    // --workers given to sockit serve; 0: none (its default)
  unsigned threads = 0;    // most threads seen under load, io_uring's own workers aside
  unsigned processes = 0;  // most processes seen under load (fork, prefork: more than 1)
  std::vector<RoundResult> rounds;
  RoundResult median;  // field by field
  ErrorCounts errors;  // summed over warm-up and rounds
};

struct CompareReport {
  std::vector<TargetResult> targets;
  int server_cpu = 0;
  int load_cpu = 0;
  std::string baseline;
  std::string syscall_tool;  // "perf" or "strace" when system calls were counted
};

// Runs every target in turn; throws CliError when a server cannot be started.
CompareReport run_compare(const CompareOptions& options);

void print_report(const CompareOptions& options, const CompareReport& report);
nlohmann::json report_json(const CompareOptions& options, const CompareReport& report);
// A horizontal bar chart of the figure of merit, as a standalone SVG document.
std::string report_svg(const CompareOptions& options, const CompareReport& report);

}  // namespace sockit::cli::bench
