// sockit bench: a load generator for echo-style servers (the harness that compares server
// architectures with it is bench/compare).
//   sockit bench 127.0.0.1 7777 --mode pingpong --conns 50 --size 64 --duration 5
#include <fmt/core.h>

#include <memory>
#include <string>

#include "bench_load.hpp"
#include "cli_support.hpp"
#include "commands.hpp"
#include "load_options.hpp"

namespace sockit::cli {
namespace {

using bench::LoadMode;

struct BenchArgs {
  std::string host;
  std::string port;
  bench::LoadArgs load;
  bool json = false;
  bool allow_remote = false;
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

int run_single(const BenchArgs& a) {
  if (a.host.empty() || a.port.empty()) usage_error("bench: HOST and PORT are required");
  bench::LoadOptions o = bench::load_options(a.load);
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
    if (o.mode != LoadMode::idle) fmt::print(" after {:.1f} s warm-up", a.load.warmup);
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

}  // namespace

void register_bench(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd =
      app.add_subcommand("bench", "Load-test an echo server (latency, rate, verified bytes)");
  cmd->add_option("host", a->host, "Server to load (loopback unless --allow-remote)");
  cmd->add_option("port", a->port, "Its port");
  bench::add_load_options(*cmd, a->load);
  cmd->add_flag("--json", a->json, "Print the results as JSON");
  cmd->add_flag("--allow-remote", a->allow_remote, "Allow a non-loopback target");
  cmd->footer(
      "\nEvery echoed byte is checked; any error (verification, reset, early close, timeout)\n"
      "makes the exit status 1. To compare server architectures under this load, see\n"
      "bench/compare (built with -DSOCKIT_BUILD_BENCH=ON).\n"
      "\nExamples:\n"
      "  sockit serve echo --arch reactor --port 7777 &\n"
      "  sockit bench 127.0.0.1 7777 --conns 50 --size 64 --duration 5\n");
  cmd->callback([a, &exit_code] { exit_code = run_single(*a); });
}

static const CommandRegistration bench_registration{90, register_bench};

}  // namespace sockit::cli
