// sockit scan: a TCP connect scanner. Non-blocking connects run in a sliding window of
// --concurrency sockets, all driven by one epoll Poller (never a thread per port), so a
// scan takes at worst about ports / concurrency * timeout.
//   sockit scan 127.0.0.1 20-100,443,8000-8100 --timeout 500
#include <fmt/core.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "sockit/address.hpp"
#include "sockit/error.hpp"
#include "sockit/poller.hpp"
#include "sockit/socket.hpp"

namespace sockit::cli {
namespace {

struct ScanArgs {
  std::string host;
  std::string ports;
  std::string timeout = "1000";
  std::size_t concurrency = 100;
  bool all = false;
  bool json = false;
  bool ipv4 = false;
  bool ipv6 = false;
};

enum class PortState { open, closed, filtered, error };

struct PortResult {
  std::uint16_t port = 0;
  PortState state = PortState::error;
  std::string detail;  // why it is closed or an error
};

const char* state_name(PortState state) {
  switch (state) {
    case PortState::open:
      return "open";
    case PortState::closed:
      return "closed";
    case PortState::filtered:
      return "filtered";
    case PortState::error:
      break;
  }
  return "error";
}

// What a finished connect says about the port.
PortResult classify(std::uint16_t port, const std::error_code& ec) {
  if (!ec) return {port, PortState::open, {}};
  if (ec.category() == std::system_category()) {
    switch (ec.value()) {
      case ECONNREFUSED:
      case EHOSTUNREACH:
      case ENETUNREACH:
      case EHOSTDOWN:
        return {port, PortState::closed, ec.message()};
      case ETIMEDOUT:
        return {port, PortState::filtered, ec.message()};
      default:
        break;
    }
  }
  return {port, PortState::error, ec.message()};
}

// Enough descriptors for the window: raises the soft limit to the hard one if needed, and
// shrinks the window when even that is not enough.
std::size_t usable_concurrency(std::size_t wanted) {
  constexpr std::size_t reserve = 32;  // stdio, the poller, whatever the process holds
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted + reserve) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY
                          ? static_cast<rlim_t>(wanted + reserve)
                          : std::min<rlim_t>(limit.rlim_max, wanted + reserve);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted + reserve) return wanted;
  return limit.rlim_cur > reserve + 1 ? static_cast<std::size_t>(limit.rlim_cur) - reserve : 1;
}

class Scanner {
 public:
  Scanner(Address target, std::chrono::milliseconds timeout, std::size_t concurrency)
      : target_(std::move(target)), timeout_(timeout), slots_(concurrency) {}

  std::vector<PortResult> run(const std::vector<std::uint16_t>& ports, ProgressBar& progress) {
    ports_ = &ports;
    results_.assign(ports.size(), PortResult{});
    progress_ = &progress;
    for (std::size_t s = slots_.size(); s > 0; --s)
      free_.push_back(s - 1);
    std::vector<PollEvent> events(std::min<std::size_t>(slots_.size(), 1024));

    while (done_ < ports.size()) {
      while (!free_.empty() && next_ < ports.size())
        launch();
      if (done_ == ports.size()) break;
      std::size_t n = poller_.wait(events, next_timeout_ms());
      for (std::size_t i = 0; i < n; ++i) {
        std::size_t s = static_cast<std::size_t>(events[i].token);
        if (!slots_[s].active) continue;
        std::error_code ec = slots_[s].socket.finish_connect();
        if (!ec && connected_to_itself(slots_[s].socket)) ec = errno_code(ECONNREFUSED);
        complete(s, classify(port_of(s), ec));
      }
      expire();
    }
    progress.finish();
    return std::move(results_);
  }

 private:
  struct Slot {
    Socket socket;
    std::size_t index = 0;  // into ports/results
    std::uint64_t generation = 0;
    bool active = false;
  };
  struct Pending {
    Clock::time_point deadline;
    std::size_t slot;
    std::uint64_t generation;
  };

  std::uint16_t port_of(std::size_t s) const { return (*ports_)[slots_[s].index]; }

  // A connect to a local port in the ephemeral range can meet itself (TCP simultaneous
  // open) when the kernel happens to pick that same port as the source: not a listener.
  bool connected_to_itself(const Socket& socket) const {
    try {
      return socket.local_address() == socket.remote_address();
    } catch (const Error&) {
      return false;
    }
  }

  void launch() {
    std::size_t index = next_++;
    std::uint16_t port = (*ports_)[index];
    // Running out of descriptors is the scan's failure, not the port's: let it throw.
    Socket socket(target_.family(), SOCK_STREAM);
    try {
      if (socket.connect_nonblock(target_.with_port(port)) == ConnectStatus::connected) {
        record(index, classify(port, connected_to_itself(socket) ? errno_code(ECONNREFUSED)
                                                                 : std::error_code{}));
        return;
      }
    } catch (const Error& e) {
      record(index, classify(port, e.code()));
      return;
    }
    std::size_t s = free_.back();
    free_.pop_back();
    Slot& slot = slots_[s];
    slot.socket = std::move(socket);
    slot.index = index;
    slot.active = true;
    poller_.add(slot.socket.fd(), Interest::writable, s);
    timeline_.push_back({Clock::now() + timeout_, s, slot.generation});
  }

  void record(std::size_t index, PortResult result) {
    results_[index] = std::move(result);
    progress_->update(++done_);
  }

  void complete(std::size_t s, PortResult result) {
    Slot& slot = slots_[s];
    poller_.remove(slot.socket.fd());
    slot.socket.close();
    slot.active = false;
    ++slot.generation;
    free_.push_back(s);
    record(slot.index, std::move(result));
  }

  bool stale(const Pending& p) const {
    return !slots_[p.slot].active || slots_[p.slot].generation != p.generation;
  }

  // Deadlines are pushed in start order and all share one timeout, so the front of the
  // timeline is always the next to expire; entries of finished connects are skipped.
  int next_timeout_ms() {
    while (!timeline_.empty() && stale(timeline_.front()))
      timeline_.pop_front();
    if (timeline_.empty()) return 0;
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(timeline_.front().deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
  }

  void expire() {
    auto now = Clock::now();
    while (!timeline_.empty()) {
      const Pending& p = timeline_.front();
      if (stale(p)) {
        timeline_.pop_front();
        continue;
      }
      if (p.deadline > now) break;
      std::size_t s = p.slot;
      timeline_.pop_front();
      complete(s, {port_of(s), PortState::filtered, "no answer within the timeout"});
    }
  }

  Address target_;
  std::chrono::milliseconds timeout_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> free_;
  std::deque<Pending> timeline_;
  Poller poller_;
  const std::vector<std::uint16_t>* ports_ = nullptr;
  std::vector<PortResult> results_;
  ProgressBar* progress_ = nullptr;
  std::size_t next_ = 0;
  std::size_t done_ = 0;
};

std::string service_of(std::uint16_t port) {
  std::string name = service_name(port, "tcp");
  return name == std::to_string(port) ? std::string() : name;
}

void print_results(const ScanArgs& args, const Address& target,
                   const std::vector<PortResult>& results, double elapsed) {
  std::size_t counts[4] = {0, 0, 0, 0};
  for (const auto& r : results)
    ++counts[static_cast<int>(r.state)];
  auto shown = [&args](const PortResult& r) { return args.all || r.state == PortState::open; };

  if (args.json) {
    nlohmann::json ports = nlohmann::json::array();
    for (const auto& r : results) {
      if (!shown(r)) continue;
      nlohmann::json entry{{"port", r.port}, {"state", state_name(r.state)}};
      if (auto service = service_of(r.port); !service.empty()) entry["service"] = service;
      if (!r.detail.empty() && r.state != PortState::open) entry["detail"] = r.detail;
      ports.push_back(std::move(entry));
    }
    print_json({{"host", args.host},
                {"address", target.ip()},
                {"ports", std::move(ports)},
                {"summary",
                 {{"scanned", results.size()},
                  {"open", counts[0]},
                  {"closed", counts[1]},
                  {"filtered", counts[2]},
                  {"error", counts[3]},
                  {"seconds", elapsed}}}});
    return;
  }
  for (const auto& r : results) {
    if (!shown(r)) continue;
    std::string state = r.state == PortState::error ? "error: " + r.detail : state_name(r.state);
    std::string line =
        fmt::format("{:<10}{:<10}{}", fmt::format("{}/tcp", r.port), state, service_of(r.port));
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    fmt::print("{}\n", line);
  }
  fmt::print(
      "{} ({}): {} port{} scanned in {:.2f} s: {} open, {} closed, {} filtered, {} error{}\n",
      args.host, target.ip(), results.size(), results.size() == 1 ? "" : "s", elapsed, counts[0],
      counts[1], counts[2], counts[3], counts[3] == 1 ? "" : "s");
}

void run_scan(const ScanArgs& args) {
  if (args.ipv4 && args.ipv6) usage_error("scan: -4 and -6 exclude each other");
  std::vector<std::uint16_t> ports = parse_port_list(args.ports, "scan");
  auto timeout = parse_duration(args.timeout, TimeUnit::milliseconds, "scan: timeout");
  if (timeout.count() == 0) usage_error("scan: timeout must be above 0");

  ResolveOptions options;
  options.family = args.ipv4 ? AF_INET : (args.ipv6 ? AF_INET6 : AF_UNSPEC);
  auto resolved = resolve(args.host, "", options);
  if (resolved.empty()) failure(fmt::format("resolve {}: no address", args.host));
  Address target = resolved.front().address;

  std::size_t concurrency = usable_concurrency(std::min(args.concurrency, ports.size()));
  ProgressBar progress(fmt::format("scanning {}", args.host), ports.size());
  auto started = Clock::now();
  Scanner scanner(target, timeout, concurrency);
  auto results = scanner.run(ports, progress);
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  print_results(args, target, results, elapsed);
}

}  // namespace

void register_scan(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand("scan", "Scan TCP ports of HOST with non-blocking connects");
  cmd->add_option("host", args->host, "Host name or address")->required();
  cmd->add_option("ports", args->ports, "Ports, e.g. 20-100,443")->required();
  cmd->add_option("--timeout,-t", args->timeout,
                  "How long a connect may stay unanswered before the port counts as filtered "
                  "(ms, or with a unit: 2s)")
      ->capture_default_str();
  cmd->add_option("--concurrency,-c", args->concurrency, "Connects in flight at once")
      ->check(CLI::Range(1, 20000))
      ->capture_default_str();
  cmd->add_flag("--all,-a", args->all, "List every port, not only the open ones");
  cmd->add_flag("--json", args->json, "Print the results as JSON");
  cmd->add_flag("-4", args->ipv4, "Scan the host's IPv4 address");
  cmd->add_flag("-6", args->ipv6, "Scan the host's IPv6 address");
  cmd->footer(
      "\nStates: open (accepted), closed (refused or unreachable), filtered (no answer\n"
      "within the timeout), error: <why>. A progress bar shows on stderr when it is a terminal.\n"
      "\nExample:\n"
      "  sockit scan 127.0.0.1 1-1024,8080 --timeout 300 --concurrency 200\n");
  cmd->callback([args, &exit_code] {
    run_scan(*args);
    exit_code = exit_ok;
  });
}

static const CommandRegistration scan_registration{40, register_scan};

}  // namespace sockit::cli
