// The chat service with three clients whose bytes, EOFs and disconnects come in an order
// the fuzzer chooses. The input is a script: a byte naming a client and an action (send the
// next 1..64 bytes, EOF, or drop the connection and connect again), then the action's
// bytes. Invariants: what a client hears from others is whole lines of the documented forms
// from a nickname that joined, with no control character a terminal would act on; the room
// counts exactly the clients welcomed and still connected; everyone leaving empties it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sockit/server/chat_service.hpp"

namespace {

using sockit::fuzz::RecordingOutput;
using sockit::server::ChatService;
using sockit::server::ConnectionInfo;
using sockit::server::Session;

constexpr std::string_view welcome = "Welcome to the chat, ";

struct Client {
  std::unique_ptr<Session> session;
  std::unique_ptr<RecordingOutput> out;
  bool welcomed = false;
  bool gone = false;
};

// Every line others sent to a client: "NICK: message", "NICK joined the chat" or "NICK left
// the chat", from a nickname that was welcomed.
void check_heard(const std::string& heard, const std::set<std::string>& nicks) {
  FUZZ_CHECK(heard.empty() || heard.back() == '\n');
  std::string_view rest = heard;
  while (!rest.empty()) {
    const std::string_view line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(line.size() + 1);
    for (const char ch : line) {
      const auto c = static_cast<unsigned char>(ch);
      FUZZ_CHECK((c >= 0x20 || c == '\t') && c != 0x7f);
    }
    const std::size_t colon = line.find(": ");
    const std::size_t space = line.find(' ');
    if (colon != std::string_view::npos && colon < space) {
      FUZZ_CHECK(nicks.count(std::string(line.substr(0, colon))) == 1);
      continue;
    }
    FUZZ_CHECK(space != std::string_view::npos);
    const std::string_view what = line.substr(space);
    FUZZ_CHECK(what == " joined the chat" || what == " left the chat");
    FUZZ_CHECK(nicks.count(std::string(line.substr(0, space))) == 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sockit::server::ChatOptions options;
  options.max_nick_length = 8;
  options.max_nick_attempts = 3;
  ChatService service(options);
  ConnectionInfo info{sockit::Address::parse("127.0.0.1", 40000),
                      sockit::Address::parse("127.0.0.1", 5000),
                      {64, 0}};
  std::array<Client, 3> clients;
  std::set<std::string> nicks;  // every nickname welcomed in this run
  auto connect = [&](Client& client) {
    client = Client{service.open(info), std::make_unique<RecordingOutput>()};
    client.session->on_open(*client.out);
  };
  auto leave = [&](Client& client) {
    if (client.gone) return;
    client.session->on_close();
    client.gone = true;
  };
  for (Client& client : clients)
    connect(client);

  std::string_view script = sockit::fuzz::as_text(data, size);
  while (!script.empty()) {
    const auto op = static_cast<unsigned char>(script.front());
    script.remove_prefix(1);
    Client& client = clients[op % 3];
    switch (op / 3 % 4) {
      case 0:
      case 1: {
        const std::size_t n = std::min<std::size_t>(op / 12 % 64 + 1, script.size());
        if (!client.gone && !client.out->closed)
          client.session->on_data(script.substr(0, n), *client.out);
        script.remove_prefix(n);
        break;
      }
      case 2:
        if (!client.gone && !client.out->closed) client.session->on_eof(*client.out);
        break;
      default:
        leave(client);
        connect(client);
        break;
    }
    // A connection the session closed is gone once its output is flushed.
    if (client.out->closed) leave(client);

    std::size_t welcomed = 0;
    for (Client& c : clients) {
      const std::string& written = c.out->written;
      if (!c.welcomed && written.find(welcome) != std::string::npos) {
        const std::size_t at = written.find(welcome) + welcome.size();
        const std::string nick = written.substr(at, written.find('\n', at) - at);
        FUZZ_CHECK(ChatService::nickname_problem(nick, options.max_nick_length).empty());
        nicks.insert(nick);
        c.welcomed = true;
      }
      if (c.welcomed && !c.gone) ++welcomed;
    }
    FUZZ_CHECK(service.members() == welcomed);
  }
  for (Client& client : clients) {
    auto* peer = dynamic_cast<sockit::fuzz::NullPeer*>(client.out->peer().get());
    FUZZ_CHECK(peer != nullptr);
    if (!client.welcomed) FUZZ_CHECK(peer->sent.empty());
    check_heard(peer->sent, nicks);
    leave(client);
  }
  FUZZ_CHECK(service.members() == 0);
  return 0;
}
