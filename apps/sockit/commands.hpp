// The subcommands of the sockit CLI. Each lives in its own file and registers itself with
// a CommandRegistration at namespace scope; main.cpp wires up whatever is registered, in
// the order given, and maps errors to exit codes:
//   static const CommandRegistration registration{10, register_serve};
#pragma once

#include <CLI/CLI.hpp>

namespace sockit::cli {

// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  // network or I/O failure
inline constexpr int exit_usage = 2;    // bad arguments

// Adds one subcommand whose callback runs it and stores its exit code in `exit_code`.
using Registrar = void (*)(CLI::App& app, int& exit_code);

// Registers a subcommand; `order` sets its place in `sockit --help` (lower first).
struct CommandRegistration {
  CommandRegistration(int order, Registrar registrar);
};

// Calls every registered Registrar on `app`, by order.
void register_all(CLI::App& app, int& exit_code);

void register_serve(CLI::App& app, int& exit_code);

}  // namespace sockit::cli
