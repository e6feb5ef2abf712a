// sockit: the command-line tool. Errors go to stderr as "sockit: <what failed>: <why>";
// exit 2 for usage errors, 1 for network or I/O failures. The library's exception rule
// (sockit/error.hpp) gives the split: std::invalid_argument is the caller's mistake, so
// bad arguments; sockit::Error and anything else is a failure.
#include <fmt/core.h>

#include <exception>
#include <stdexcept>
#include <string>

#include "cli_support.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sockit: sockets from the command line: servers, clients and tools", "sockit"};
  app.set_version_flag("--version", std::string("sockit ") + SOCKIT_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'sockit COMMAND --help' for a command's options and an example.");
  // Set before the subcommands are added: they copy it from their parent.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("sockit: {}\nRun with --help for more information.\n", e.what());
  });

  int exit_code = sockit::cli::exit_ok;
  sockit::cli::register_all(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : sockit::cli::exit_usage;
  } catch (const sockit::cli::CliError& e) {
    fmt::print(stderr, "sockit: {}\n", e.what());
    return e.code();
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "sockit: {}\n", e.what());
    return sockit::cli::exit_usage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sockit: {}\n", e.what());
    return sockit::cli::exit_failure;
  }
  return exit_code;
}
