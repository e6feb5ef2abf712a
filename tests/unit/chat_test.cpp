// sockit-test-labels: threaded
// ChatService sessions driven directly, with fake outputs standing in for connections: the
// join/message/leave lines, nickname rules, and a room shared by many threads at once.
#include "sockit/server/chat_service.hpp"
#include "support/fake_runtime.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sockit/server/server.hpp"

namespace sockit::server {
namespace {

class FakePeer final : public Peer {
 public:
  void send(std::string bytes) override {
    std::lock_guard lock(mutex_);
    received_ += bytes;
  }
  void close() override {}
  std::string take() {
    std::lock_guard lock(mutex_);
    return std::exchange(received_, {});
  }

 private:
  std::mutex mutex_;
  std::string received_;
};

class FakeOutput final : public test::FakeRuntime {
 public:
  void write(std::string_view bytes) override {
    if (!closed_) written_ += bytes;
  }
  void close() override { closed_ = true; }
  bool closing() const noexcept override { return closed_; }
  std::shared_ptr<Peer> peer() override { return peer_; }

  std::shared_ptr<FakePeer> fake_peer() const { return peer_; }
  std::string take() { return std::exchange(written_, {}); }

 private:
  std::string written_;
  bool closed_ = false;
  std::shared_ptr<FakePeer> peer_ = std::make_shared<FakePeer>();
};

// One chat client: its session, and everything the server wrote to it (directly or
// through its Peer).
struct ChatClient {
  explicit ChatClient(ChatService& service)
      : session(service.open(ConnectionInfo{Address::loopback_ipv4(40000), {}, {}})) {
    session->on_open(out);
  }
  void send(std::string_view bytes) { session->on_data(bytes, out); }
  std::string received() { return out.take() + out.fake_peer()->take(); }
  void disconnect() {
    session->on_close();
    session.reset();
  }

  FakeOutput out;
  std::unique_ptr<Session> session;
};

TEST(ChatService, SharesStateAndNeedsConcurrency) {
  ChatService service;
  EXPECT_EQ(service.name(), "chat");
  EXPECT_EQ(service.default_port(), 5000);
  EXPECT_TRUE(service.needs_shared_state());
  EXPECT_TRUE(service.needs_concurrency());
}

TEST(ChatService, JoinMessageLeaveReachEveryoneElse) {
  ChatService service;
  ChatClient alice(service), bob(service), carol(service);
  alice.send("alice\n");
  EXPECT_EQ(alice.received(), "Welcome to the chat, alice\n");
  bob.send("bob\n");
  EXPECT_EQ(alice.received(), "bob joined the chat\n");
  EXPECT_EQ(bob.received(), "Welcome to the chat, bob\n");
  carol.send("carol\r\n");
  EXPECT_EQ(alice.received(), "carol joined the chat\n");
  EXPECT_EQ(bob.received(), "carol joined the chat\n");
  EXPECT_EQ(service.members(), 3u);

  bob.send("hello all\n");
  EXPECT_EQ(alice.received(), "bob: hello all\n");
  EXPECT_EQ(carol.received(), "Welcome to the chat, carol\nbob: hello all\n");
  EXPECT_EQ(bob.received(), "") << "the sender gets no copy";

  bob.disconnect();
  EXPECT_EQ(alice.received(), "bob left the chat\n");
  EXPECT_EQ(carol.received(), "bob left the chat\n");
  EXPECT_EQ(service.members(), 2u);
}

TEST(ChatService, LinesSplitAcrossReadsAndSeveralPerRead) {
  ChatService service;
  ChatClient alice(service), bob(service);
  alice.send("ali");
  alice.send("ce\nfirst\nsec");
  bob.send("bob\n");
  EXPECT_EQ(alice.received(), "Welcome to the chat, alice\nbob joined the chat\n");
  alice.send("ond\n\nthird\n");
  EXPECT_EQ(bob.received(), "Welcome to the chat, bob\nalice: second\nalice: third\n")
      << "'first' was said before bob joined; empty lines are skipped";
}

TEST(ChatService, DuplicateNicknameRefusedIgnoringCaseThenAnotherAccepted) {
  ChatService service;
  ChatClient alice(service), other(service);
  alice.send("alice\n");
  alice.received();
  other.send("ALICE\n");
  EXPECT_EQ(other.received(), "Nickname taken: ALICE, choose another\n");
  EXPECT_FALSE(other.out.closing());
  EXPECT_EQ(alice.received(), "") << "a refused client is not announced";
  other.send("alice2\n");
  EXPECT_EQ(other.received(), "Welcome to the chat, alice2\n");
  EXPECT_EQ(alice.received(), "alice2 joined the chat\n");
}

TEST(ChatService, InvalidNicknamesRefusedWithTheReason) {
  ChatService service;
  ChatClient client(service);
  client.send("\n");
  EXPECT_EQ(client.received(), "Invalid nickname: empty (send your nickname as the first line)\n");
  client.send(std::string(33, 'n').append("\n"));  // `+` here trips g++ 12 -O3 warnings
  EXPECT_EQ(client.received(), "Invalid nickname: longer than 32 bytes\n");
  client.send("two words\n");
  EXPECT_EQ(client.received(),
            "Invalid nickname: use printable ASCII letters, digits and punctuation, without "
            "spaces\n");
  client.send("bad\x1b[2Jnick\n");
  EXPECT_NE(client.received().find("Invalid nickname"), std::string::npos);
  EXPECT_TRUE(client.out.closing() == false);
  client.send("mallory: hi\n");
  // Fifth refusal: the connection is closed.
  EXPECT_EQ(client.received(),
            "Invalid nickname: ':' is not allowed\nToo many attempts, goodbye\n");
  EXPECT_TRUE(client.out.closing());
  EXPECT_EQ(service.members(), 0u);
}

TEST(ChatService, NicknameTrimmedAndBoundary) {
  ChatService service;
  ChatClient a(service), b(service);
  a.send("  spaced\t\n");
  EXPECT_EQ(a.received(), "Welcome to the chat, spaced\n");
  b.send(std::string(32, 'x') + "\n");
  EXPECT_EQ(b.received(), "Welcome to the chat, " + std::string(32, 'x') + "\n");
}

TEST(ChatService, ControlCharactersInMessagesAreNeutralised) {
  ChatService service;
  ChatClient alice(service), bob(service);
  alice.send("alice\n");
  bob.send("bob\n");
  alice.received();
  bob.received();
  alice.send("hi\x1b[2J\x07 there\ttab\n");
  EXPECT_EQ(bob.received(), "alice: hi?[2J? there\ttab\n");
}

// C1 controls (CSI is 0x9b) act on terminals too: as UTF-8 (U+0080..U+009F) and as lone
// bytes that are not UTF-8 at all. Other UTF-8 and other lone high bytes pass unchanged.
TEST(ChatService, C1ControlsInMessagesAreNeutralised) {
  ChatService service;
  ChatClient alice(service), bob(service);
  alice.send("alice\n");
  bob.send("bob\n");
  alice.received();
  bob.received();
  alice.send(
      "a\xc2\x9b"
      "2J b\x9b"
      "2J c\x85 d\xc2\x80\n");
  EXPECT_EQ(bob.received(), "alice: a?2J b?2J c? d?\n");
  alice.send("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0 latin1 \xe9\n");
  EXPECT_EQ(bob.received(),
            "alice: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0 latin1 \xe9\n");
  alice.send("cut \xe2\x82 \xed\x9f\xbf \xed\xa0\x80\n");
  EXPECT_EQ(bob.received(), "alice: cut \xe2? \xed\x9f\xbf \xed\xa0?\n")
      << "0x80-0x9f outside a valid sequence is replaced, even after a lead byte";
}

TEST(ChatService, ClientLeavingBeforeNicknameIsNotAnnounced) {
  ChatService service;
  ChatClient alice(service);
  alice.send("alice\n");
  alice.received();
  {
    ChatClient silent(service);
    silent.disconnect();
  }
  EXPECT_EQ(alice.received(), "");
}

TEST(ChatService, DestroyedWithoutOnCloseStillLeaves) {
  ChatService service;
  ChatClient alice(service);
  alice.send("alice\n");
  {
    ChatClient bob(service);
    bob.send("bob\n");
  }  // session destroyed without on_close (e.g. an exception unwinding the connection)
  EXPECT_EQ(alice.received(),
            "Welcome to the chat, alice\nbob joined the chat\nbob left the chat\n");
  EXPECT_EQ(service.members(), 1u);
}

TEST(ChatService, LastLineWithoutNewlineDeliveredAtEof) {
  ChatService service;
  ChatClient alice(service), bob(service);
  alice.send("alice\n");
  bob.send("bob\n");
  alice.received();
  bob.send("bye");
  bob.session->on_eof(bob.out);
  EXPECT_EQ(alice.received(), "bob: bye\n");
  EXPECT_TRUE(bob.out.closing());
}

TEST(ChatService, ManyThreadsShareOneRoom) {
  ChatService service;
  ChatClient observer(service);
  observer.send("observer\n");
  observer.received();

  constexpr int threads = 8;
  constexpr int messages = 50;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&service, t] {
      ChatClient client(service);
      client.send("user" + std::to_string(t) + "\n");
      for (int i = 0; i < messages; ++i)
        client.send(std::string("m").append(std::to_string(i)).append("\n"));
      client.disconnect();
    });
  }
  for (auto& w : workers)
    w.join();

  std::string all = observer.received();
  for (int t = 0; t < threads; ++t) {
    std::string nick = "user" + std::to_string(t);
    auto joined = all.find(nick + " joined the chat\n");
    auto last = all.find(nick + ": m" + std::to_string(messages - 1) + "\n");
    auto left = all.find(nick + " left the chat\n");
    ASSERT_NE(joined, std::string::npos) << nick;
    ASSERT_NE(last, std::string::npos) << nick;
    ASSERT_NE(left, std::string::npos) << nick;
    EXPECT_LT(joined, last);
    EXPECT_LT(last, left) << "each member's lines arrive in the order they were said";
  }
  EXPECT_EQ(service.members(), 1u);
}

TEST(ChatServer, RefusedOnSerialForkAndPreforkSayingWhy) {
  for (auto arch : {Architecture::serial, Architecture::fork, Architecture::prefork}) {
    ServerOptions options;
    options.architecture = arch;
    options.handle_signals = false;
    try {
      Server server(std::make_shared<ChatService>(), options);
      ADD_FAILURE() << "chat accepted on " << to_string(arch);
    } catch (const std::invalid_argument& e) {
      std::string message = e.what();
      EXPECT_NE(message.find(std::string(to_string(arch))), std::string::npos) << message;
      EXPECT_NE(message.find("use one of: thread, pool, reactor, hybrid"), std::string::npos)
          << message;
      if (arch == Architecture::serial) {
        EXPECT_NE(message.find("one connection at a time"), std::string::npos) << message;
      } else {
        EXPECT_NE(message.find("its own process"), std::string::npos) << message;
      }
    }
  }
}

TEST(ChatServer, AcceptedOnTheConcurrentArchitectures) {
  for (auto arch :
       {Architecture::thread, Architecture::pool, Architecture::reactor, Architecture::hybrid}) {
    ServerOptions options;
    options.architecture = arch;
    options.handle_signals = false;
    EXPECT_NO_THROW(Server(std::make_shared<ChatService>(), options)) << to_string(arch);
  }
}

}  // namespace
}  // namespace sockit::server
