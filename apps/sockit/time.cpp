// sockit time: ask a time server. Over TCP it reads the daytime answer (one line, then the
// server closes); over UDP it sends TIME, TIMESTAMP or ISO8601 to the UDP time service and
// waits for the datagram that answers, retrying once since either datagram may be lost.
//   sockit time 127.0.0.1 --udp --format iso8601
#include <fmt/core.h>

#include <cctype>
#include <memory>
#include <string>
#include <system_error>

#include "cli_support.hpp"
#include "commands.hpp"
#include "sockit/error.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"
#include "sockit/udp.hpp"

namespace sockit::cli {
namespace {

constexpr std::uint16_t daytime_port = 20000;
constexpr std::uint16_t udp_time_port = 3000;
constexpr std::size_t max_answer = 4096;

struct TimeArgs {
  std::string host;
  std::string port;
  bool udp = false;
  std::string format;
  double timeout = 5;
  int retries = 1;
};

std::string trim_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

bool is_timeout(const Error& e) {
  return e.code() == errc::timed_out || e.code() == std::errc::timed_out;
}

std::string ask_daytime(const TimeArgs& args, std::uint16_t port) {
  ConnectOptions options;
  options.timeout = seconds(args.timeout);
  TcpSocket socket = TcpSocket::connect(args.host, port, options);
  Stream stream(socket);
  return stream.read_to_eof(max_answer, seconds(args.timeout));
}

std::string ask_udp(const TimeArgs& args, std::uint16_t port) {
  std::string request = args.format.empty() ? "TIME" : args.format;
  for (auto& c : request)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  UdpSocket socket = UdpSocket::connected(args.host, port);
  for (int attempt = 0;; ++attempt) {
    socket.send(request);
    try {
      return socket.recv(UdpSocket::max_datagram, seconds(args.timeout));
    } catch (const Error& e) {
      if (!is_timeout(e)) throw;
      if (attempt >= args.retries) {
        failure(fmt::format("time {}: no answer within {} s ({} attempts)",
                            host_port(args.host, port), args.timeout, attempt + 1));
      }
    }
  }
}

void run_time(const TimeArgs& args) {
  if (!args.format.empty() && !args.udp) {
    usage_error("time: --format needs --udp (the TCP daytime service has one format)");
  }
  std::uint16_t port = args.port.empty() ? (args.udp ? udp_time_port : daytime_port)
                                         : parse_port(args.port, false, "time");
  std::string answer = args.udp ? ask_udp(args, port) : ask_daytime(args, port);
  answer = trim_line(std::move(answer));
  if (answer.empty()) failure(fmt::format("time {}: empty answer", host_port(args.host, port)));
  fmt::print("{}\n", answer);
}

}  // namespace

void register_time(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TimeArgs>();
  CLI::App* cmd = app.add_subcommand("time", "Ask a daytime (TCP) or UDP time server for the time");
  cmd->add_option("host", args->host, "Server host name or address")->required();
  cmd->add_option("--port,-p", args->port,
                  fmt::format("Server port [{} TCP, {} UDP]", daytime_port, udp_time_port));
  cmd->add_flag("--udp,-u", args->udp, "Ask the UDP time service instead of TCP daytime");
  cmd->add_option("--format,-f", args->format, "UDP: the answer's format")
      ->check(CLI::IsMember({"time", "timestamp", "iso8601"}, CLI::ignore_case));
  cmd->add_option("--timeout,-w", args->timeout, "Seconds to wait for the connection and answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--retries", args->retries, "UDP: requests re-sent when no answer comes")
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  cmd->footer(
      "\nExample:\n"
      "  sockit time 127.0.0.1                        # daytime over TCP, port 20000\n"
      "  sockit time 127.0.0.1 --udp -f timestamp     # UDP time service, port 3000\n");
  cmd->callback([args, &exit_code] {
    run_time(*args);
    exit_code = exit_ok;
  });
}

static const CommandRegistration time_registration{30, register_time};

}  // namespace sockit::cli
