// The subcommands of the sockit CLI. Each lives in its own file and registers itself on
// the top-level app; main.cpp only wires them up and maps errors to exit codes.
#pragma once

#include <CLI/CLI.hpp>

namespace sockit::cli {

// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  // network or I/O failure
inline constexpr int exit_usage = 2;    // bad arguments

// Each register_* adds one subcommand whose callback runs it; the callback stores its exit
// code in `exit_code`.
void register_serve(CLI::App& app, int& exit_code);

}  // namespace sockit::cli
