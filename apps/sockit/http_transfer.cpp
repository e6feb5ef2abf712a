// The transfers behind `sockit http` and `sockit get`. The body goes to stdout or a file as
// it arrives; a non-2xx status still prints the body but the exit code is 1 with the status
// on stderr, so scripts can tell.
#include "http_transfer.hpp"

#include <fmt/core.h>
#include <sys/stat.h>
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

namespace sockit::cli {
namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Bodies below this size finish before a progress bar would be worth drawing.
constexpr std::size_t progress_threshold = 1024 * 1024;

// Where the responses go: stdout, or a file created on the first byte (so a failed
// connection leaves no empty file behind).
class Output {
 public:
  Output(std::string path, std::string command)
      : path_(std::move(path)), command_(std::move(command)) {}
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
    failure(fmt::format("{}: {} {}: {}", command_, what, path_.empty() ? "stdout" : path_,
                        std::strerror(err)));
  }

  std::string path_;
  std::string command_;
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

// "> GET / HTTP/1.1" lines for --verbose, each escaped.
void print_verbose_lines(std::string_view text, std::string_view prefix) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fmt::print(stderr, "{}{}\n", prefix, escape_for_terminal(line));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

std::pair<std::string, std::string> parse_header(const std::string& command,
                                                 const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    usage_error(fmt::format("{}: --header '{}': expected 'Name: value'", command, text));
  }
  std::string name = text.substr(0, colon);
  std::string value = text.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  return {std::move(name), std::move(value)};
}

bool has_header(const HeaderList& headers, std::string_view name) {
  for (const auto& header : headers) {
    if (http::iequals(header.first, name)) return true;
  }
  return false;
}

// https:// URLs (first or after a redirect) speak through a verified TlsTransport. The
// context is made on first use, so an http:// fetch never loads the CA store or warns.
http::TransportFactory secure_transport(const HttpArgs& args) {
  auto context = std::make_shared<std::optional<TlsContext>>();
  return
      [context, tls = args.tls, command = args.command](
          Socket& socket, const http::Url& url, Deadline deadline) -> std::unique_ptr<Transport> {
        if (!*context) *context = client_tls_context(tls, true, command);
        auto transport = std::make_unique<TlsTransport>(socket, **context, url.host);
        // Without --timeout a silent server must still not hang the handshake forever.
        transport->handshake(deadline.is_never() ? Deadline(std::chrono::seconds(30)) : deadline);
        return transport;
      };
}

// -d/--json: TEXT, @FILE (streamed with its size, rewound for a 307/308 or a retry) or @-
// (stdin, read whole since it cannot be rewound).
http::RequestBody load_body(const std::string& command, const std::string& option,
                            const std::string& value) {
  http::RequestBody body;
  if (value.empty() || value[0] != '@') {
    body.bytes = value;
    return body;
  }
  const std::string path = value.substr(1);
  if (path == "-") {
    char buffer[16 * 1024];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0)
      body.bytes.append(buffer, n);
    return body;
  }
  std::shared_ptr<FILE> file(std::fopen(path.c_str(), "rb"), [](FILE* f) {
    if (f != nullptr) std::fclose(f);
  });
  struct stat info {};
  if (!file || ::fstat(::fileno(file.get()), &info) != 0 || !S_ISREG(info.st_mode)) {
    const int err = file ? EINVAL : errno;
    usage_error(fmt::format("{}: {} @{}: {}", command, option, path,
                            err == EINVAL ? "not a regular file" : std::strerror(err)));
  }
  body.length = static_cast<std::uint64_t>(info.st_size);
  body.source = [file](std::span<char> out) {
    return std::fread(out.data(), 1, out.size(), file.get());
  };
  body.rewind = [file] { return std::fseek(file.get(), 0, SEEK_SET) == 0; };
  return body;
}

bool is_method_word(std::string_view word) {
  if (word.empty()) return false;
  for (char c : word) {
    if (!((c >= 'A' && c <= 'Z') || c == '-' || c == '_')) return false;
  }
  return true;
}

std::string lower(std::string text) {
  for (auto& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return text;
}

}  // namespace

std::string escape_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  constexpr char hex[] = "0123456789abcdef";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void add_transfer_options(CLI::App& cmd, HttpArgs& args) {
  cmd.add_flag("--include,-i", args.include, "Print the status line and headers first");
  cmd.add_flag("--verbose,-v", args.verbose,
               "Show connections and the request and response heads on stderr");
  cmd.add_flag("--silent,-s", args.silent, "No progress bar and no warnings (errors still show)");
  cmd.add_option("--output,-o", args.output,
                 "Write the body to FILE (progress bar on a terminal for large bodies)");
  cmd.add_flag("--location,-L", args.location, "Follow redirects (301, 302, 303, 307, 308)");
  cmd.add_option("--max-redirs", args.max_redirs, "At most this many redirects with --location")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd.add_flag("--allow-insecure-redirect", args.allow_insecure_redirect,
               "Let --location follow a redirect from https:// to http://");
  add_tls_client_options(cmd, args.tls, false);
  cmd.add_option("--timeout,-m", args.timeout,
                 "Limit on each transfer, seconds or with a unit (500ms, 2m)");
  cmd.add_option("--header,-H", args.headers,
                 "Extra request header 'Name: value' (repeatable; 'Name:' removes a default)")
      ->allow_extra_args(false);
}

int run_http(HttpArgs args) {
  const std::string& command = args.command;
  if (!args.words.empty() && args.words.size() >= 2 && is_method_word(args.words[0])) {
    if (!args.method.empty()) {
      usage_error(fmt::format("{}: the method is given twice ({} and --request {})", command,
                              args.words[0], args.method));
    }
    args.method = args.words[0];
    args.words.erase(args.words.begin());
  }
  if (args.words.empty()) usage_error(fmt::format("{}: no URL given", command));
  std::vector<http::Url> urls;
  for (const auto& word : args.words) {
    try {
      urls.push_back(http::parse_url(word));
    } catch (const Error& e) {
      usage_error(fmt::format("{}: {}", command, e.what()));
    }
  }
  if (!args.output.empty() && urls.size() > 1) {
    usage_error(fmt::format("{}: --output takes one URL ({} given)", command, urls.size()));
  }
  if (args.data_given && args.json_given) {
    usage_error(fmt::format("{}: --data and --json cannot both be given", command));
  }

  HeaderList headers;
  for (const auto& header : args.headers)
    headers.push_back(parse_header(command, header));
  std::optional<http::RequestBody> body;
  if (args.data_given) {
    body = load_body(command, "--data", args.data);
    if (!has_header(headers, "content-type")) {
      headers.insert(headers.begin(), {"Content-Type", "application/x-www-form-urlencoded"});
    }
  } else if (args.json_given) {
    body = load_body(command, "--json", args.json);
    if (!has_header(headers, "content-type")) {
      headers.insert(headers.begin(), {"Content-Type", "application/json"});
    }
    headers.insert(headers.begin(), {"Accept", "application/json"});  // a later -H wins
  }
  const std::string method = args.method.empty() ? (body ? "POST" : "GET") : args.method;
  try {  // bad --header or method values are usage errors
    (void)http::build_request(method, urls.front(), headers, "sockit", std::nullopt);
  } catch (const Error& e) {
    usage_error(fmt::format("{}: {}", command, e.what()));
  }
  std::optional<std::chrono::milliseconds> timeout;
  if (!args.timeout.empty()) {
    timeout = parse_duration(args.timeout, TimeUnit::seconds, command + ": --timeout");
  }

  http::ClientOptions client_options;
  client_options.user_agent = std::string("sockit/") + SOCKIT_VERSION;
  client_options.secure_transport = secure_transport(args);
  http::Client client(std::move(client_options));
  Output output(args.output, command);
  int exit_code = exit_ok;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const http::Url& url = urls[i];
    const bool last = i + 1 == urls.size();
    http::RequestOptions request;
    request.method = method;
    request.headers = headers;
    // The last request lets the server close at once; a caller's Connection header wins.
    if (last) request.headers.insert(request.headers.begin(), {"Connection", "close"});
    request.body = body;
    if (body && body->rewind && i > 0 && !body->rewind()) {
      failure(
          fmt::format("{}: cannot read the request body again for {}", command, url.to_string()));
    }
    if (timeout) request.deadline = Deadline(*timeout);
    request.follow_redirects = args.location;
    request.max_redirects = args.max_redirs;
    request.allow_insecure_redirect = args.allow_insecure_redirect;

    std::optional<ProgressBar> progress;
    std::uint64_t received = 0;
    if (args.verbose) {
      request.on_connection = [](const http::Url& to, bool reused) {
        fmt::print(stderr, "* {} {}\n", reused ? "reusing connection to" : "connected to",
                   host_port(to.host, to.port));
      };
      request.on_request = [](std::string_view head) { print_verbose_lines(head, "> "); };
    }
    request.on_head = [&](const http::Response& response) {
      if (args.verbose) print_verbose_lines(head_text(response.head), "< ");
      if (args.include) output.write(head_text(response.head));
      const bool followed = args.location && response.is_redirect();
      if (!followed && !args.silent && (output.to_file() || !::isatty(STDOUT_FILENO))) {
        const auto length = response.content_length.value_or(0);
        progress.emplace(command, static_cast<std::size_t>(length));
      }
    };
    request.on_body = [&](std::string_view bytes) {
      output.write(bytes);
      received += bytes.size();
      if (progress && received >= progress_threshold) {
        progress->update(static_cast<std::size_t>(received));
      }
    };

    http::Response response;
    try {
      response = client.request(url, request);
    } catch (const Error& e) {
      if (e.code() == std::errc::permission_denied && !args.allow_insecure_redirect &&
          std::string_view(e.what()).find("insecure redirect") != std::string_view::npos) {
        failure(std::string(e.what()) + "; --allow-insecure-redirect follows it");
      }
      throw;
    }
    if (progress) progress->finish();

    const std::string where = response.url.to_string();
    const std::string what = lower(method);
    if (response.extra_bytes != 0 && !args.silent) {
      fmt::print(stderr,
                 "sockit: {} {}: warning: ignored {} bytes after the {}-byte body (the server's "
                 "Content-Length is wrong)\n",
                 what, where, response.extra_bytes, response.body_bytes);
    }
    if (response.ok()) continue;
    std::string status = fmt::format("HTTP {}", response.status());
    if (!response.head.reason.empty()) status += " " + escape_for_terminal(response.head.reason);
    if (response.is_redirect() && !args.location) {
      status += fmt::format(" (use --location to follow it to {})",
                            escape_for_terminal(*response.head.headers.get("location")));
    }
    fmt::print(stderr, "sockit: {} {}: {}\n", what, where, status);
    exit_code = exit_failure;
  }
  output.close();
  return exit_code;
}

}  // namespace sockit::cli
