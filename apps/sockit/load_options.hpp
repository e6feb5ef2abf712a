// The load options shared by `sockit bench` and the benchmark harness (bench/compare): one
// set of CLI flags (--mode, --conns, --size, ...) and their checks, turned into the load
// generator's LoadOptions.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>

#include "bench_load.hpp"

namespace sockit::cli::bench {

struct LoadArgs {
  std::string mode = "pingpong";
  std::size_t conns = 50;
  std::size_t size = 64;
  std::size_t pipeline = 1;
  double duration = 5;
  double warmup = 1;
  double timeout = 5;
  unsigned sources = 0;  // 0: automatic (churn on 127.0.0.1 spreads over 64 addresses)
};

// Adds --mode, --conns, --size, --pipeline, --duration, --warmup, --timeout, --sources.
void add_load_options(CLI::App& cmd, LoadArgs& args);
// The checked options (server left empty). Throws CliError(exit_usage) naming the flag.
LoadOptions load_options(const LoadArgs& args);

}  // namespace sockit::cli::bench
