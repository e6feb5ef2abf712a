// The load options shared by `sockit bench` and the benchmark harness (see load_options.hpp).
#include "load_options.hpp"

#include <fmt/core.h>

#include "cli_support.hpp"

namespace sockit::cli::bench {
namespace {

constexpr double kMaxDuration = 600;
constexpr std::size_t kMaxConns = 100000;
constexpr std::size_t kMaxSize = 16 * 1024 * 1024;
constexpr std::size_t kMaxPipeline = 1024;

LoadMode parse_mode(const std::string& mode) {
  if (mode == "pingpong") return LoadMode::pingpong;
  if (mode == "churn") return LoadMode::churn;
  if (mode == "idle") return LoadMode::idle;
  usage_error("bench: unknown --mode '" + mode + "' (pingpong, churn or idle)");
}

}  // namespace

LoadOptions load_options(const LoadArgs& a) {
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
  LoadOptions o;
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

void add_load_options(CLI::App& cmd, LoadArgs& a) {
  cmd.add_option("--mode,-m", a.mode,
                 "pingpong (send, await echo, repeat), churn (connect, one echo, close) or "
                 "idle (connect, one echo, hold)")
      ->capture_default_str();
  cmd.add_option("--conns,-c", a.conns, "Concurrent connections")->capture_default_str();
  cmd.add_option("--size,-s", a.size, "Bytes per message, newline included")->capture_default_str();
  cmd.add_option("--pipeline,-P", a.pipeline, "Messages in flight per connection (pingpong)")
      ->capture_default_str();
  cmd.add_option("--duration,-d", a.duration, "Seconds measured (idle: seconds held)")
      ->capture_default_str();
  cmd.add_option("--warmup,-w", a.warmup, "Seconds of load before measuring")
      ->capture_default_str();
  cmd.add_option("--timeout", a.timeout, "Seconds without progress before a connection fails")
      ->capture_default_str();
  cmd.add_option("--sources", a.sources,
                 "Spread client sockets over 127.0.0.2..N+1 (churn on loopback: 64)");
}

}  // namespace sockit::cli::bench
