// arch_compare: the benchmark harness. Serves a service with `sockit serve` on each chosen
// architecture (and runs other echo servers beside them), drives each with sockit bench's
// load generator, and prints a table, JSON (bench/run_all.sh) or an SVG chart.
//   arch_compare --archs thread,reactor,hybrid --peer epoll=bin/bench/epoll_echo --plot cpu.svg
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "compare.hpp"
#include "load_options.hpp"
#include "sockit/server/server.hpp"

namespace sockit::cli::bench {
namespace {

constexpr unsigned kMaxRounds = 20;

struct CompareArgs {
  std::string sockit;
  LoadArgs load;
  bool json = false;
  std::vector<std::string> archs;
  std::vector<std::string> peers;
  std::string baseline;
  std::string service = "echo";
  unsigned rounds = 3;
  unsigned workers = 0;
  int server_cpu = -1;
  int load_cpu = -1;
  std::string plot;
  std::string serve_args;
  bool syscalls = false;
  double settle = 0;
};

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// The sockit built beside this program: bin/bench/arch_compare -> bin/sockit.
std::string default_sockit() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "sockit";
  std::string self(path, static_cast<std::size_t>(n));
  const auto slash = self.rfind('/');
  return self.substr(0, slash == std::string::npos ? 0 : slash) + "/../sockit";
}

int run(const CompareArgs& a) {
  CompareOptions o;
  o.sockit = a.sockit.empty() ? default_sockit() : a.sockit;
  o.load = load_options(a.load);
  if (o.load.sources == 0 && o.load.mode == LoadMode::churn) o.load.sources = 64;
  std::vector<std::string> archs = a.archs;
  if (archs.empty() && a.peers.empty()) archs = {"thread", "pool", "reactor", "hybrid"};
  std::set<std::string> seen;
  for (const auto& arch : archs) {
    if (!server::parse_architecture(arch)) {
      std::string known;
      for (auto each : server::all_architectures())
        known += (known.empty() ? "" : ", ") + std::string(server::to_string(each));
      usage_error("bench: unknown architecture '" + arch + "' (" + known + ")");
    }
    if (!seen.insert(arch).second) usage_error("bench: --archs lists '" + arch + "' twice");
  }
  for (const auto& peer : a.peers) {
    const auto eq = peer.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == peer.size()) {
      usage_error("bench: --peer wants NAME=PROGRAM, got '" + peer + "'");
    }
    const std::string name = peer.substr(0, eq);
    if (!seen.insert(name).second) usage_error("bench: target name '" + name + "' used twice");
    o.peers.emplace_back(name, peer.substr(eq + 1));
  }
  if (!a.baseline.empty() && seen.count(a.baseline) == 0) {
    usage_error("bench: --baseline '" + a.baseline + "' is not one of the targets");
  }
  if (a.rounds == 0 || a.rounds > kMaxRounds) {
    usage_error(fmt::format("bench: --rounds must be 1-{}", kMaxRounds));
  }
  if (!archs.empty() && ::access(o.sockit.c_str(), X_OK) != 0) {
    usage_error("bench: " + o.sockit + " is not an executable sockit (give --sockit PATH)");
  }
  o.archs = archs;
  o.baseline = a.baseline;
  o.service = a.service;
  o.rounds = a.rounds;
  o.workers = a.workers;
  o.server_cpu = a.server_cpu;
  o.load_cpu = a.load_cpu;
  o.plot = a.plot;
  o.serve_args = split_words(a.serve_args);
  o.syscalls = a.syscalls;
  if (a.settle < 0 || a.settle > 60) usage_error("bench: --settle must be 0-60 seconds");
  if (a.settle > 0 && a.syscalls) {
    usage_error("bench: --syscalls counts whole rounds; leave --settle out");
  }
  if (a.settle > 0 && o.load.mode != LoadMode::pingpong) {
    usage_error("bench: --settle is for pingpong rounds");
  }
  o.settle = std::chrono::milliseconds(static_cast<long long>(a.settle * 1000));

  const CompareReport report = run_compare(o);
  if (a.json) {
    print_json(report_json(o, report));
  } else {
    print_report(o, report);
  }
  if (!o.plot.empty()) {
    std::ofstream out(o.plot);
    out << report_svg(o, report);
    out.close();
    if (!out) failure("bench: write " + o.plot + ": cannot write the chart");
    if (!a.json) fmt::print("chart: {}\n", o.plot);
  }
  std::uint64_t errors = 0;
  for (const auto& t : report.targets)
    errors += t.errors.total();
  if (errors > 0) {
    fmt::print(stderr, "sockit: bench: {} error{} across the comparison\n", errors,
               errors == 1 ? "" : "s");
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace
}  // namespace sockit::cli::bench

int main(int argc, char** argv) {
  using namespace sockit::cli;
  CLI::App app{
      "Compare sockit's server architectures (and other echo servers) under the same load"};
  auto a = std::make_shared<bench::CompareArgs>();
  app.add_option("--sockit", a->sockit,
                 "The sockit program serving the architectures [bin/sockit]");
  bench::add_load_options(app, a->load);
  app.add_flag("--json", a->json, "Print the results as JSON");
  app.add_option("--archs", a->archs, "Architectures to compare [thread,pool,reactor,hybrid]")
      ->delimiter(',');
  app.add_option("--peer", a->peers,
                 "Also compare NAME=PROGRAM, a server taking --port 0 and printing "
                 "'listening on HOST:PORT'");
  app.add_option("--baseline", a->baseline, "Target the ratios are against [the first]");
  app.add_option("--service", a->service, "Service to serve")->capture_default_str();
  app.add_option("--rounds", a->rounds, "Measured rounds per target; medians are shown")
      ->capture_default_str();
  app.add_option("--workers", a->workers,
                 "Workers for the compared servers [hybrid 1, pool/prefork one per connection]");
  app.add_option("--server-cpu", a->server_cpu, "CPU for the servers [first allowed]");
  app.add_option("--load-cpu", a->load_cpu, "CPU for the load [second allowed]");
  app.add_option("--plot", a->plot, "Write an SVG bar chart of the comparison here");
  app.add_option("--serve-args", a->serve_args,
                 "More arguments for every sockit serve, as one word: "
                 "--serve-args='--max-line 8192'");
  app.add_flag("--syscalls", a->syscalls,
               "Count each server's system calls per message (perf, else strace); the tracing "
               "costs CPU, so compare CPU figures from runs without it");
  app.add_option("--settle", a->settle,
                 "Seconds of load at the start of each round left out of its figures "
                 "(thousands of connections take time to open)")
      ->capture_default_str();
  app.footer(
      "\nEvery echoed byte is checked; any error (verification, reset, early close, timeout)\n"
      "makes the exit status 1. The figure that separates servers on a small machine is the\n"
      "server's CPU time per message (utime+stime from /proc), not the rate.\n"
      "\nExample:\n"
      "  arch_compare --archs thread,reactor --duration 2 --plot cpu.svg\n");
  try {
    app.parse(argc, argv);
    return bench::run(*a);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : exit_usage;
  } catch (const CliError& e) {
    fmt::print(stderr, "sockit: {}\n", e.what());
    return e.code();
  } catch (const std::exception& e) {
    fmt::print(stderr, "sockit: {}\n", e.what());
    return exit_failure;
  }
}
