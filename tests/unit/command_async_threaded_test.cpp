// The command service on an event loop (ConnectionInfo::shares_thread): the password check
// runs on the service's verifier threads, the answers come through the connection's Peer,
// and lines sent after an AUTH are answered after it, in order.
// sockit-test-labels: threaded
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sockit/auth/command_service.hpp"
#include "sockit/auth/password.hpp"
#include "sockit/auth/user_file.hpp"

namespace sockit::auth {
namespace {

using namespace std::chrono_literals;

// What the loop would send for the session, from any thread.
class RecordingPeer final : public server::Peer {
 public:
  void send(std::string bytes) override {
    std::lock_guard lock(mutex_);
    if (!closed_) text_ += bytes;
    changed_.notify_all();
  }
  void close() override {
    std::lock_guard lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }
  // Waits (up to 20 s) until the text received is at least `size` bytes long.
  std::string wait_for(std::size_t size) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 20s, [&] { return text_.size() >= size; });
    return text_;
  }
  bool wait_closed() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 20s, [&] { return closed_; });
  }
  std::string text() {
    std::lock_guard lock(mutex_);
    return text_;
  }
  bool closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  bool closed_ = false;
};

// The loop's Output: anything written to it directly would be a bug (the session answers
// through its Peer), so it is recorded apart.
class LoopOutput final : public server::Output {
 public:
  void write(std::string_view bytes) override { direct += bytes; }
  void close() override { direct_close = true; }
  bool closing() const noexcept override { return direct_close; }
  std::shared_ptr<server::Peer> peer() override { return recording; }

  std::shared_ptr<RecordingPeer> recording = std::make_shared<RecordingPeer>();
  std::string direct;
  bool direct_close = false;
};

class CommandOnEventLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    UserFile users;
    users.upsert(UserRecord{
        "alice", hash_password("wonder land", min_iterations), {"STATUS", "HELP", "WHOAMI"}});
    service = std::make_shared<CommandService>(std::move(users));
    server::ConnectionInfo info{Address::loopback_ipv4(50000), {}, {}, true};
    session = service->open(info);
    session->on_open(out);
  }

  std::shared_ptr<CommandService> service;
  std::unique_ptr<server::Session> session;
  LoopOutput out;
};

TEST_F(CommandOnEventLoop, LinesAfterAuthAreAnsweredAfterItInOrder) {
  session->on_data("HELP\nAUTH alice wonder land\nWHOAMI\nHE", out);
  session->on_data("LP\n", out);
  const std::string expected =
      "Unauthorized\nAuthenticated successfully\nalice\nCommands: STATUS, HELP, WHOAMI\n";
  EXPECT_EQ(out.recording->wait_for(expected.size()), expected);
  EXPECT_EQ(out.direct, "") << "answers must all go through the Peer, or they could reorder";
  EXPECT_FALSE(out.recording->closed());
  // A failed check, then the connection is still served.
  session->on_data("AUTH alice nope\nWHOAMI\n", out);
  const std::string after = expected + "Unauthorized\nUnauthorized\n";
  EXPECT_EQ(out.recording->wait_for(after.size()), after);
}

TEST_F(CommandOnEventLoop, EofWhileACheckIsPendingAnswersEverythingThenCloses) {
  session->on_data("AUTH alice wonder land\nWHOAMI", out);
  session->on_eof(out);
  ASSERT_TRUE(out.recording->wait_closed());
  EXPECT_EQ(out.recording->text(), "Authenticated successfully\nalice\n");
  EXPECT_FALSE(out.direct_close);
}

TEST_F(CommandOnEventLoop, AConnectionGoneBeforeItsCheckEndsIsNotAnswered) {
  session->on_data("AUTH alice wonder land\nWHOAMI\n", out);
  session->on_close();
  session.reset();
  // The check finishes on its own thread and must find the connection gone.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(out.recording->text(), "");
}

TEST(CommandOnEventLoopSlowCheck, InputHeldDuringACheckIsBounded) {
  // A costly hash, so the check is surely still running when the flood arrives.
  UserFile users;
  users.upsert(UserRecord{"slow", hash_password("pw", 3'000'000), {"HELP"}});
  auto service = std::make_shared<CommandService>(std::move(users));
  auto session = service->open(server::ConnectionInfo{Address::loopback_ipv4(50000), {}, {}, true});
  LoopOutput out;
  session->on_open(out);
  session->on_data("AUTH slow pw\n", out);
  session->on_data(std::string(64 * 1024, 'A'), out);
  ASSERT_TRUE(out.recording->wait_closed());
  EXPECT_EQ(out.recording->text(), "Error: Input exceeds maximum length\n");
}

}  // namespace
}  // namespace sockit::auth
