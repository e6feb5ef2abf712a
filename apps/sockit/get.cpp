// sockit get: `sockit http`'s GET shorthand (curl's everyday subset), on the same transfer
// code. The body goes to stdout or a file as it arrives; a non-2xx status still prints the
// body but exits 1 with the status on stderr, so scripts can tell.
//   sockit get http://[::1]:8080/file.bin --output file.bin --location
#include <memory>

#include "commands.hpp"
#include "http_transfer.hpp"

namespace sockit::cli {

void register_get(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<HttpArgs>();
  args->command = "get";
  args->method = "GET";
  CLI::App* cmd = app.add_subcommand("get", "HTTP GET a URL: the body to stdout or a file");
  cmd->add_option("url", args->words,
                  "http:// or https:// URL (IPv6 literals in brackets: http://[::1]:80/)")
      ->required()
      ->expected(1);
  add_transfer_options(*cmd, *args);
  cmd->footer(
      "\nSends Host, User-Agent: sockit/VERSION, Accept: */* and Connection: close. Bodies\n"
      "framed by Content-Length, chunked encoding or the end of the connection all work; a\n"
      "connection that closes before the promised length is an error. Other methods, bodies\n"
      "and several URLs: sockit http --help.\n"
      "Exit status: 0 for 2xx, 1 for any other status (the body is still printed, the status\n"
      "goes to stderr) or a network failure, 2 for bad arguments.\n"
      "\nExample:\n"
      "  sockit get http://127.0.0.1:8000/ --include\n"
      "  sockit get http://[::1]:8080/big.iso --output big.iso --location --timeout 5m\n");
  cmd->callback([args, &exit_code] { exit_code = run_http(*args); });
}

static const CommandRegistration get_registration{25, register_get};

}  // namespace sockit::cli
