// The transfer engine shared by `sockit http` and `sockit get`: requests with any method and
// body to one or more URLs over kept-alive connections, the bodies to stdout or a file, heads
// with --include or --verbose, and the CLI's exit-code rules for statuses.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tls_client_options.hpp"

namespace sockit::cli {

struct HttpArgs {
  std::string command = "http";    // names usage errors: "http: --data and --json..."
  std::vector<std::string> words;  // [METHOD] URL [URL...]
  std::string method;              // -X; empty: GET, or POST with a body
  std::string data;                // -d TEXT or @FILE ("@-": stdin)
  bool data_given = false;
  std::string json;  // --json TEXT or @FILE
  bool json_given = false;
  bool include = false;
  bool verbose = false;
  bool silent = false;
  std::string output;
  bool location = false;
  bool allow_insecure_redirect = false;
  int max_redirs = 10;
  std::string timeout;  // each transfer; empty: no limit
  std::vector<std::string> headers;
  TlsClientArgs tls;  // --ca, --insecure
};

// The options `get` and `http` share (all but the method and body ones).
void add_transfer_options(CLI::App& command, HttpArgs& args);

// Runs the transfers; returns exit_ok, or exit_failure when a status was not 2xx. Usage
// errors and network failures throw CliError / Error as the rest of the CLI.
int run_http(HttpArgs args);

// Bytes a server chose, made safe for a terminal: control bytes and non-ASCII as \xNN.
std::string escape_for_terminal(std::string_view text);

}  // namespace sockit::cli
