// sockit get: an HTTP/1.1 GET client (curl's everyday subset). The body goes to stdout or
// a file as it arrives; a non-2xx status still prints the body but exits 1 with the status
// on stderr, so scripts can tell.
//   sockit get http://[::1]:8080/file.bin --output file.bin --location
#include <fmt/core.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "sockit/error.hpp"
#include "sockit/http.hpp"
#include "sockit/tls/tls_transport.hpp"
#include "tls_client_options.hpp"

namespace sockit::cli {
namespace {

struct GetArgs {
  std::string url;
  bool include = false;
  std::string output;
  bool location = false;
  int max_redirs = 10;
  std::string timeout;  // whole transfer; empty: no limit
  std::vector<std::string> headers;
  TlsClientArgs tls;  // --ca, --insecure
};

// Bodies below this size finish before a progress bar would be worth drawing.
constexpr std::size_t progress_threshold = 1024 * 1024;

// Where the response goes: stdout, or a file created on the first byte (so a failed
// connection leaves no empty file behind).
class Output {
 public:
  explicit Output(std::string path) : path_(std::move(path)) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() {
    if (file_ != nullptr && file_ != stdout) std::fclose(file_);
  }

  bool to_file() const noexcept { return !path_.empty(); }

  void write(std::string_view bytes) {
    open();
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
      fail_io("write");
    }
  }

  // Creates the file even for an empty body; reports a failed final flush.
  void close() {
    open();
    if (file_ == stdout) {
      if (std::fflush(stdout) != 0) fail_io("write");
      return;
    }
    FILE* file = std::exchange(file_, nullptr);
    if (std::fclose(file) != 0) fail_io("write");
  }

 private:
  void open() {
    if (file_ != nullptr) return;
    if (path_.empty()) {
      file_ = stdout;
      return;
    }
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) fail_io("open");
  }

  [[noreturn]] void fail_io(const char* what) const {
    const int err = errno;
    failure(
        fmt::format("get: {} {}: {}", what, path_.empty() ? "stdout" : path_, std::strerror(err)));
  }

  std::string path_;
  FILE* file_ = nullptr;
};

std::string head_text(const http::ResponseHead& head) {
  std::string text = head.status_line() + "\r\n";
  for (std::size_t i = 0; i < head.headers.size(); ++i) {
    const auto field = head.headers[i];
    text.append(field.name);
    text += ": ";
    text.append(field.value);
    text += "\r\n";
  }
  text += "\r\n";
  return text;
}

std::pair<std::string, std::string> parse_header(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    usage_error(fmt::format("get: --header '{}': expected 'Name: value'", text));
  }
  std::string name = text.substr(0, colon);
  std::string value = text.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  return {std::move(name), std::move(value)};
}

// https:// URLs (first or after a redirect) speak through a verified TlsTransport. The
// context is made on first use, so an http:// fetch never loads the CA store or warns.
http::TransportFactory secure_transport(const GetArgs& args) {
  auto context = std::make_shared<std::optional<TlsContext>>();
  return [context, tls = args.tls](Socket& socket, const http::Url& url,
                                   Deadline deadline) -> std::unique_ptr<Transport> {
    if (!*context) *context = client_tls_context(tls, true, "get");
    auto transport = std::make_unique<TlsTransport>(socket, **context, url.host);
    // Without --timeout a silent server must still not hang the handshake forever.
    transport->handshake(deadline.is_never() ? Deadline(std::chrono::seconds(30)) : deadline);
    return transport;
  };
}

int run_get(const GetArgs& args) {
  http::Url url;
  try {
    url = http::parse_url(args.url);
  } catch (const Error& e) {
    usage_error(fmt::format("get: {}", e.what()));
  }

  http::GetOptions options;
  options.user_agent = std::string("sockit/") + SOCKIT_VERSION;
  options.follow_redirects = args.location;
  options.max_redirects = args.max_redirs;
  if (!args.timeout.empty()) {
    options.deadline = Deadline(parse_duration(args.timeout, TimeUnit::seconds, "get: --timeout"));
  }
  for (const auto& header : args.headers)
    options.headers.push_back(parse_header(header));
  try {
    (void)http::build_get_request(url, options);  // bad --header values are usage errors
  } catch (const Error& e) {
    usage_error(fmt::format("get: {}", e.what()));
  }
  options.secure_transport = secure_transport(args);

  Output output(args.output);
  std::optional<ProgressBar> progress;
  std::uint64_t received = 0;
  options.on_head = [&](const http::Response& response) {
    if (args.include) output.write(head_text(response.head));
    const bool followed = args.location && response.is_redirect();
    if (!followed && (output.to_file() || !::isatty(STDOUT_FILENO))) {
      const auto length = response.content_length.value_or(0);
      progress.emplace("get", static_cast<std::size_t>(length));
    }
  };
  options.on_body = [&](std::string_view bytes) {
    output.write(bytes);
    received += bytes.size();
    if (progress && received >= progress_threshold) {
      progress->update(static_cast<std::size_t>(received));
    }
  };

  const http::Response response = http::get(url, options);
  if (progress) progress->finish();
  output.close();

  const std::string where = response.url.to_string();
  if (response.extra_bytes != 0) {
    fmt::print(stderr,
               "sockit: get {}: warning: ignored {} bytes after the {}-byte body (the server's "
               "Content-Length is wrong)\n",
               where, response.extra_bytes, response.body_bytes);
  }
  if (response.ok()) return exit_ok;
  std::string status = fmt::format("HTTP {}", response.status());
  if (!response.head.reason.empty()) status += " " + response.head.reason;
  if (response.is_redirect() && !args.location) {
    status +=
        fmt::format(" (use --location to follow it to {})", *response.head.headers.get("location"));
  }
  fmt::print(stderr, "sockit: get {}: {}\n", where, status);
  return exit_failure;
}

}  // namespace

void register_get(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<GetArgs>();
  CLI::App* cmd = app.add_subcommand("get", "HTTP GET a URL: the body to stdout or a file");
  cmd->add_option("url", args->url,
                  "http:// or https:// URL (IPv6 literals in brackets: http://[::1]:80/)")
      ->required();
  cmd->add_flag("--include,-i", args->include, "Print the status line and headers first");
  cmd->add_option("--output,-o", args->output,
                  "Write the body to FILE (progress bar on a terminal for large bodies)");
  cmd->add_flag("--location,-L", args->location, "Follow redirects (301, 302, 303, 307, 308)");
  cmd->add_option("--max-redirs", args->max_redirs, "At most this many redirects with --location")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  add_tls_client_options(*cmd, args->tls, false);
  cmd->add_option("--timeout,-m", args->timeout,
                  "Limit on the whole transfer, seconds or with a unit (500ms, 2m)");
  cmd->add_option("--header,-H", args->headers,
                  "Extra request header 'Name: value' (repeatable; 'Name:' removes a default)")
      ->allow_extra_args(false);
  cmd->footer(
      "\nSends Host, User-Agent: sockit/VERSION, Accept: */* and Connection: close. Bodies\n"
      "framed by Content-Length, chunked encoding or the end of the connection all work; a\n"
      "connection that closes before the promised length is an error.\n"
      "Exit status: 0 for 2xx, 1 for any other status (the body is still printed, the status\n"
      "goes to stderr) or a network failure, 2 for bad arguments.\n"
      "\nExample:\n"
      "  sockit get http://127.0.0.1:8000/ --include\n"
      "  sockit get http://[::1]:8080/big.iso --output big.iso --location --timeout 5m\n");
  cmd->callback([args, &exit_code] { exit_code = run_get(*args); });
}

static const CommandRegistration get_registration{25, register_get};

}  // namespace sockit::cli
