// The client-side TLS options shared by `sockit connect --tls` and `sockit get https://`:
// --ca FILE (trust these CAs instead of the system store) and --insecure (no certificate
// or hostname checks, with a warning on stderr), plus --tls where TLS is not implied.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "sockit/tls/tls_context.hpp"

namespace sockit::cli {

struct TlsClientArgs {
  bool tls = false;  // --tls (connect); https:// implies it for get
  std::string ca_file;
  bool insecure = false;
};

// Adds --ca and --insecure, and --tls when `with_tls_flag`.
void add_tls_client_options(CLI::App& command, TlsClientArgs& args, bool with_tls_flag);

// The client context for these options. --insecure prints a warning on stderr naming
// `command`; --ca with --insecure is a usage error, as is either one when TLS is off
// (`tls_in_use` false).
TlsContext client_tls_context(const TlsClientArgs& args, bool tls_in_use, std::string_view command);

}  // namespace sockit::cli
