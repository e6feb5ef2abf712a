// Shared by the tests of the chat room across servers: a real redis-server run with
// deploy/redis-room.conf on a loopback port picked for it, and a chat member that reads its
// connection line by line.
#pragma once

#include <signal.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "serve_fixture.hpp"
#include "sockit/deadline.hpp"
#include "sockit/tcp.hpp"
#include "support/process.hpp"

namespace sockit::test {

// redis-server on 127.0.0.1:port, in the foreground, with the room's config as shipped.
class Redis {
 public:
  // On a free port: one the kernel gave a socket, closed again; another when the server
  // finds it taken meanwhile.
  Redis() {
    for (int attempt = 0; attempt < 5 && !ok(); ++attempt) {
      std::uint16_t candidate = 0;
      {
        TcpServer probe("127.0.0.1", 0);
        candidate = probe.local_address().port();
      }
      start(candidate);
    }
  }

  bool ok() const { return process_.has_value() && ready_; }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/lobby"; }
  std::string log() const { return process_ ? process_->stdout_text() : std::string(); }

  void kill() {
    process_->signal(SIGKILL);
    process_->finish(std::chrono::seconds(20));
    ready_ = false;
  }

  // Again on the same port.
  void restart() { start(port_); }

  // Subscribers of the channel, as Redis counts them (-1 when it cannot say).
  int subscribers() const {
    Process cli({"redis-cli", "-p", std::to_string(port_), "PUBSUB", "NUMSUB", "lobby"});
    cli.finish(std::chrono::seconds(20));
    const std::string out = cli.stdout_text();  // "lobby\nN\n"
    const auto newline = out.find('\n');
    if (newline == std::string::npos) return -1;
    try {
      return std::stoi(out.substr(newline + 1));
    } catch (const std::exception&) {
      return -1;
    }
  }

  // Until `count` servers are subscribed, or 20 s.
  bool wait_subscribers(int count) const {
    const Deadline deadline(std::chrono::seconds(20));
    while (!deadline.expired()) {
      if (subscribers() == count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling Redis's count
    }
    return false;
  }

 private:
  void start(std::uint16_t port) {
    port_ = port;
    process_.reset();
    process_.emplace(std::vector<std::string>{
        "redis-server", std::string(SOCKIT_SOURCE_DIR) + "/deploy/redis-room.conf", "--port",
        std::to_string(port)});
    ready_ = process_->wait_stdout("Ready to accept connections", std::chrono::seconds(20));
  }

  std::optional<Process> process_;
  std::uint16_t port_ = 0;
  bool ready_ = false;
};

// A chat member: reads its connection line by line.
class Member {
 public:
  Member(std::uint16_t port, const std::string& nick) : Member(Client(port), nick) {}
  Member(Client client, const std::string& nick) : client_(std::move(client)) {
    client_.send(nick + "\n");
    welcome_ = next_line();
  }
  const std::string& welcome() const { return welcome_; }
  void say(const std::string& line) { client_.send(line + "\n"); }
  void leave() { client_.socket().close(); }

  // The next whole line with its "\n", or "" when none came within `timeout`.
  std::string next_line(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const std::string& text = client_.read_until_from(used_, "\n", timeout);
    const auto end = text.find('\n', used_);
    if (end == std::string::npos) return {};
    std::string line = text.substr(used_, end + 1 - used_);
    used_ = end + 1;
    return line;
  }

 private:
  Client client_;
  std::size_t used_ = 0;
  std::string welcome_;
};

// The next line of `member`, after the joins of earlier members that may still reach it
// (said before it joined, on another server, delivered after): each of those at most once.
inline std::string next_after_late_joins(Member& member, std::set<std::string>& late_joins) {
  std::string line = member.next_line();
  while (late_joins.erase(line) == 1)
    line = member.next_line();
  return line;
}

}  // namespace sockit::test
