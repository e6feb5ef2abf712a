// sockit bench: a load generator for echo-style servers, and a comparison of sockit's own
// server architectures under the same load.
//   sockit bench 127.0.0.1 7777 --mode pingpong --conns 50 --size 64 --duration 5
//   sockit bench --compare --archs thread,reactor,hybrid --plot cpu.svg
#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench_compare.hpp"
#include "bench_load.hpp"
#include "cli_support.hpp"
#include "commands.hpp"
#include "sockit/server/server.hpp"

namespace sockit::cli {
namespace {

using bench::LoadMode;

// Bounds that keep one invocation finite and the machine usable.
constexpr double kMaxDuration = 600;
constexpr std::size_t kMaxConns = 100000;
constexpr std::size_t kMaxSize = 16 * 1024 * 1024;
constexpr std::size_t kMaxPipeline = 1024;
constexpr unsigned kMaxRounds = 20;

struct BenchArgs {
  std::string host;
  std::string port;
  std::string mode = "pingpong";
  std::size_t conns = 50;
  std::size_t size = 64;
  std::size_t pipeline = 1;
  double duration = 5;
  double warmup = 1;
  double timeout = 5;
  unsigned sources = 0;  // 0: automatic (churn on 127.0.0.1 spreads over 64 addresses)
  bool json = false;
  bool allow_remote = false;
  bool compare = false;
  std::vector<std::string> archs;
  std::vector<std::string> peers;
  std::string baseline;
  std::string service = "echo";
  unsigned rounds = 3;
  unsigned workers = 0;
  int server_cpu = -1;
  int load_cpu = -1;
  std::string plot;
};

std::string us(std::uint64_t nanoseconds) {
  const double value = static_cast<double>(nanoseconds);
  if (value >= 1e6) return fmt::format("{:.2f} ms", value / 1e6);
  return fmt::format("{:.1f} us", value / 1e3);
}

std::string error_text(const bench::ErrorCounts& e) {
  if (e.total() == 0) return "0";
  std::string text = std::to_string(e.total()) + " (";
  auto add = [&text](const char* kind, std::uint64_t n) {
    if (n == 0) return;
    if (text.back() != '(') text += ", ";
    text += fmt::format("{} {}", kind, n);
  };
  add("connect", e.connect);
  add("reset", e.reset);
  add("early eof", e.eof);
  add("verification", e.mismatch);
  add("timeout", e.timeout);
  add("other", e.other);
  return text + ")";
}

nlohmann::json errors_json(const bench::ErrorCounts& e) {
  return {{"connect", e.connect}, {"reset", e.reset}, {"eof", e.eof},      {"mismatch", e.mismatch},
          {"timeout", e.timeout}, {"other", e.other}, {"total", e.total()}};
}

LoadMode parse_mode(const std::string& mode) {
  if (mode == "pingpong") return LoadMode::pingpong;
  if (mode == "churn") return LoadMode::churn;
  if (mode == "idle") return LoadMode::idle;
  usage_error("bench: unknown --mode '" + mode + "' (pingpong, churn or idle)");
}

bench::LoadOptions load_options(const BenchArgs& a) {
  if (a.conns == 0 || a.conns > kMaxConns) {
    usage_error(fmt::format("bench: --conns must be 1-{}", kMaxConns));
  }
  if (a.size == 0 || a.size > kMaxSize)
    usage_error(fmt::format("bench: --size must be 1-{}", kMaxSize));
  if (a.pipeline == 0 || a.pipeline > kMaxPipeline) {
    usage_error(fmt::format("bench: --pipeline must be 1-{}", kMaxPipeline));
  }
  if (a.duration <= 0 || a.duration > kMaxDuration || a.warmup < 0 || a.warmup > kMaxDuration) {
    usage_error(fmt::format(
        "bench: --duration must be in (0, {0}] and --warmup in [0, {0}] seconds", kMaxDuration));
  }
  if (a.timeout <= 0 || a.timeout > kMaxDuration) usage_error("bench: --timeout out of range");
  bench::LoadOptions o;
  o.mode = parse_mode(a.mode);
  o.conns = a.conns;
  o.size = a.size;
  o.pipeline = a.pipeline;
  o.duration = seconds(a.duration);
  o.warmup = seconds(a.warmup);
  o.timeout = seconds(a.timeout);
  o.sources = a.sources;
  if (o.sources > 250) usage_error("bench: --sources must be 0-250");
  return o;
}

int run_single(const BenchArgs& a) {
  if (a.host.empty() || a.port.empty())
    usage_error("bench: HOST and PORT are required (or --compare)");
  bench::LoadOptions o = load_options(a);
  const std::uint16_t port = parse_port(a.port, false, "bench");
  auto resolved = resolve(a.host, port);
  if (resolved.empty()) failure("bench: resolve " + a.host + ": no address");
  o.server = resolved.front().address;
  if (!o.server.is_loopback() && !a.allow_remote) {
    usage_error("bench: " + o.server.to_string() +
                " is not a loopback address; a load test aimed elsewhere needs --allow-remote");
  }
  if (o.sources == 0 && o.mode == LoadMode::churn && o.server.is_ipv4() && o.server.is_loopback()) {
    o.sources = 64;
  }
  const bench::LoadResult r = bench::run_load(o);
  const char* unit = o.mode == LoadMode::churn ? "connections" : "messages";
  if (a.json) {
    print_json({{"server", host_port(a.host, port)},
                {"mode", std::string(bench::to_string(o.mode))},
                {"conns", o.conns},
                {"size", o.size},
                {"pipeline", o.pipeline},
                {"seconds", r.seconds},
                {unit, r.messages},
                {"rate", r.rate()},
                {"mib_per_second", r.mib_per_second()},
                {"held", r.held},
                {"latency_us",
                 {{"p50", static_cast<double>(r.latency.percentile(0.5)) / 1e3},
                  {"p99", static_cast<double>(r.latency.percentile(0.99)) / 1e3},
                  {"p999", static_cast<double>(r.latency.percentile(0.999)) / 1e3},
                  {"max", static_cast<double>(r.latency.max()) / 1e3}}},
                {"verified_bytes", r.verified_total},
                {"errors", errors_json(r.errors)}});
  } else {
    fmt::print("sockit bench {} {}: {} connection{}, {} B messages", host_port(a.host, port),
               bench::to_string(o.mode), o.conns, o.conns == 1 ? "" : "s", o.size);
    if (o.mode == LoadMode::pingpong) fmt::print(", pipeline {}", o.pipeline);
    fmt::print(", {:.1f} s", r.seconds);
    if (o.mode != LoadMode::idle) fmt::print(" after {:.1f} s warm-up", a.warmup);
    fmt::print("\n");
    if (o.mode == LoadMode::idle) {
      fmt::print("  held:      {} of {} connections open and echoing\n", r.held, o.conns);
    } else {
      fmt::print("  {:<10} {} ({:.0f}/s, {:.2f} MiB/s each way)\n", std::string(unit) + ":",
                 r.messages, r.rate(), r.mib_per_second());
      fmt::print("  latency:   p50 {}  p99 {}  p99.9 {}  max {}\n", us(r.latency.percentile(0.5)),
                 us(r.latency.percentile(0.99)), us(r.latency.percentile(0.999)),
                 us(r.latency.max()));
    }
    fmt::print("  verified:  {} echoed bytes{}\n", r.verified_total,
               r.errors.mismatch == 0 ? ", every one as sent" : "");
    fmt::print("  errors:    {}\n", error_text(r.errors));
  }
  if (r.errors.mismatch > 0) {
    fmt::print(stderr,
               "sockit: bench: verification failed: {} echo{} differed from what was sent\n",
               r.errors.mismatch, r.errors.mismatch == 1 ? "" : "es");
    return exit_failure;
  }
  if (r.errors.total() > 0) {
    fmt::print(stderr, "sockit: bench: {} error{} during the run\n", r.errors.total(),
               r.errors.total() == 1 ? "" : "s");
    return exit_failure;
  }
  if (o.mode == LoadMode::idle ? r.held < o.conns : r.messages == 0) {
    fmt::print(stderr, "sockit: bench: the server answered nothing in the measured period\n");
    return exit_failure;
  }
  return exit_ok;
}

int run_compare_command(const BenchArgs& a) {
  if (!a.host.empty()) usage_error("bench: --compare starts its own servers: drop HOST PORT");
  bench::CompareOptions o;
  o.load = load_options(a);
  if (o.load.sources == 0 && o.load.mode == LoadMode::churn) o.load.sources = 64;
  std::vector<std::string> archs = a.archs;
  if (archs.empty() && a.peers.empty()) archs = {"thread", "pool", "reactor", "hybrid"};
  std::set<std::string> seen;
  for (const auto& arch : archs) {
    if (!server::parse_architecture(arch)) {
      usage_error("bench: unknown architecture '" + arch +
                  "' (serial, thread, fork, prefork, pool, reactor, hybrid)");
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
  o.archs = archs;
  o.baseline = a.baseline;
  o.service = a.service;
  o.rounds = a.rounds;
  o.workers = a.workers;
  o.server_cpu = a.server_cpu;
  o.load_cpu = a.load_cpu;
  o.plot = a.plot;

  const bench::CompareReport report = bench::run_compare(o);
  if (a.json) {
    print_json(bench::report_json(o, report));
  } else {
    bench::print_report(o, report);
  }
  if (!o.plot.empty()) {
    std::ofstream out(o.plot);
    out << bench::report_svg(o, report);
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

void register_bench(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Load-test an echo server (latency, rate, verified bytes), or compare architectures");
  cmd->add_option("host", a->host, "Server to load (loopback unless --allow-remote)");
  cmd->add_option("port", a->port, "Its port");
  cmd->add_option("--mode,-m", a->mode,
                  "pingpong (send, await echo, repeat), churn (connect, one echo, close) or "
                  "idle (connect, one echo, hold)")
      ->capture_default_str();
  cmd->add_option("--conns,-c", a->conns, "Concurrent connections")->capture_default_str();
  cmd->add_option("--size,-s", a->size, "Bytes per message, newline included")
      ->capture_default_str();
  cmd->add_option("--pipeline,-P", a->pipeline, "Messages in flight per connection (pingpong)")
      ->capture_default_str();
  cmd->add_option("--duration,-d", a->duration, "Seconds measured (idle: seconds held)")
      ->capture_default_str();
  cmd->add_option("--warmup,-w", a->warmup, "Seconds of load before measuring")
      ->capture_default_str();
  cmd->add_option("--timeout", a->timeout, "Seconds without progress before a connection fails")
      ->capture_default_str();
  cmd->add_option("--sources", a->sources,
                  "Spread client sockets over 127.0.0.2..N+1 (churn on loopback: 64)");
  cmd->add_flag("--json", a->json, "Print the results as JSON");
  cmd->add_flag("--allow-remote", a->allow_remote, "Allow a non-loopback target");
  cmd->add_flag("--compare", a->compare,
                "Start `sockit serve SERVICE` on each architecture and compare them");
  cmd->add_option("--archs", a->archs, "Architectures to compare [thread,pool,reactor,hybrid]")
      ->delimiter(',');
  cmd->add_option("--peer", a->peers,
                  "Also compare NAME=PROGRAM, a server taking --port 0 and printing "
                  "'listening on HOST:PORT'");
  cmd->add_option("--baseline", a->baseline, "Target the ratios are against [the first]");
  cmd->add_option("--service", a->service, "Service to serve in --compare")->capture_default_str();
  cmd->add_option("--rounds", a->rounds, "Measured rounds per target; medians are shown")
      ->capture_default_str();
  cmd->add_option("--workers", a->workers,
                  "Workers for the compared servers [hybrid 1, pool/prefork one per connection]");
  cmd->add_option("--server-cpu", a->server_cpu, "CPU for the servers [first allowed]");
  cmd->add_option("--load-cpu", a->load_cpu, "CPU for the load [second allowed]");
  cmd->add_option("--plot", a->plot, "Write an SVG bar chart of the comparison here");
  cmd->footer(
      "\nEvery echoed byte is checked; any error (verification, reset, early close, timeout)\n"
      "makes the exit status 1. With --compare, the figure that separates servers on a small\n"
      "machine is the server's CPU time per message (utime+stime from /proc), not the rate.\n"
      "\nExamples:\n"
      "  sockit serve echo --arch reactor --port 7777 &\n"
      "  sockit bench 127.0.0.1 7777 --conns 50 --size 64 --duration 5\n"
      "  sockit bench --compare --archs thread,reactor --duration 2 --plot cpu.svg\n");
  cmd->callback(
      [a, &exit_code] { exit_code = a->compare ? run_compare_command(*a) : run_single(*a); });
}

static const CommandRegistration bench_registration{90, register_bench};

}  // namespace sockit::cli
