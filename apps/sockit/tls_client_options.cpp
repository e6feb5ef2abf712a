// Client TLS options for the CLI (see tls_client_options.hpp).
#include "tls_client_options.hpp"

#include <fmt/core.h>

#include <string>

#include "cli_support.hpp"

namespace sockit::cli {

void add_tls_client_options(CLI::App& command, TlsClientArgs& args, bool with_tls_flag) {
  if (with_tls_flag) command.add_flag("--tls", args.tls, "Speak TLS (certificate verified)");
  command.add_option("--ca", args.ca_file,
                     "Trust the CAs in this PEM file instead of the system's (e.g. a "
                     "certificate from `sockit cert`)");
  command.add_flag("--insecure,-k", args.insecure,
                   "Do not verify the server's certificate or name (prints a warning)");
}

TlsContext client_tls_context(const TlsClientArgs& args, bool tls_in_use,
                              std::string_view command) {
  if (!tls_in_use && (!args.ca_file.empty() || args.insecure)) {
    usage_error(std::string(command) + ": --ca and --insecure apply to TLS only");
  }
  if (!args.ca_file.empty() && args.insecure) {
    usage_error(std::string(command) + ": --ca and --insecure exclude each other");
  }
  if (args.insecure) {
    fmt::print(stderr,
               "sockit: {}: warning: --insecure: the server's certificate is not verified; "
               "anyone on the path can read and change this connection\n",
               command);
  }
  return TlsContext::client({args.ca_file, !args.insecure, {}, {}});
}

}  // namespace sockit::cli
