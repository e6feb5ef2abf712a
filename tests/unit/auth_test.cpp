// Password hashing, the user file, the login throttle, and the command service's protocol
// driven through a fake Output (every answer string exactly as the protocol specifies).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "sockit/auth/command_service.hpp"
#include "sockit/auth/login_throttle.hpp"
#include "sockit/auth/password.hpp"
#include "sockit/auth/user_file.hpp"
#include "sockit/error.hpp"
#include "support/fake_runtime.hpp"
#include "support/temp_dir.hpp"

namespace sockit::auth {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Tests hash at the minimum cost, to stay quick under the sanitizers.
std::string quick_hash(std::string_view password) {
  return hash_password(password, min_iterations);
}

TEST(Password, HashesVerifyAndAreSalted) {
  std::string a = quick_hash("correct horse");
  std::string b = quick_hash("correct horse");
  EXPECT_NE(a, b) << "each hash has its own random salt";
  EXPECT_TRUE(verify_password("correct horse", a));
  EXPECT_TRUE(verify_password("correct horse", b));
  EXPECT_FALSE(verify_password("correct horsE", a));
  EXPECT_FALSE(verify_password("", a));
  EXPECT_EQ(hash_problem(a), "");
}

TEST(Password, EncodingIsSchemeIterationsSaltHash) {
  std::string encoded = quick_hash("pw");
  EXPECT_EQ(encoded.rfind("pbkdf2-sha256:100000:", 0), 0u) << encoded;
  auto salt_start = std::string("pbkdf2-sha256:100000:").size();
  auto colon = encoded.find(':', salt_start);
  ASSERT_NE(colon, std::string::npos);
  EXPECT_EQ(colon - salt_start, 32u) << "16-byte salt in hex";
  EXPECT_EQ(encoded.size() - colon - 1, 64u) << "32-byte SHA-256 output in hex";
}

TEST(Password, KnownVectorFromAnotherImplementation) {
  // PBKDF2-HMAC-SHA256("password", "saltsalt", 100000, 32) as Python's hashlib.pbkdf2_hmac
  // computes it: the derivation is the standard one, not merely self-consistent.
  std::string encoded =
      "pbkdf2-sha256:100000:73616c7473616c74:"
      "0eafc548013d68314b86779309857c240d5e252ee9760af9d4edbc7ae05cc547";
  EXPECT_EQ(hash_problem(encoded), "");
  EXPECT_TRUE(verify_password("password", encoded));
  EXPECT_FALSE(verify_password("Password", encoded));
  EXPECT_EQ(hash_problem("pbkdf2-sha256:100000:73616c74:"
                         "0eafc548013d68314b86779309857c240d5e252ee9760af9d4edbc7ae05cc547"),
            "salt must be at least 8 bytes of hex");
}

TEST(Password, WeakOrMalformedHashesNeverMatch) {
  EXPECT_THROW(hash_password("pw", 1000), std::invalid_argument);
  std::string good = quick_hash("pw");
  std::string weak = good;
  weak.replace(weak.find("100000"), 6, "1000");
  EXPECT_FALSE(verify_password("pw", weak));
  EXPECT_NE(hash_problem(weak).find("iteration count 1000 outside"), std::string::npos);
  EXPECT_FALSE(verify_password("pw", "md5:abc"));
  EXPECT_NE(hash_problem("md5:1:2:3").find("unknown hash scheme 'md5'"), std::string::npos);
  EXPECT_FALSE(verify_password("pw", ""));
  std::string bad_hex = good;
  bad_hex.back() = 'z';
  EXPECT_FALSE(verify_password("pw", bad_hex));
  const std::string decoy = decoy_hash(min_iterations);
  EXPECT_FALSE(verify_password("pw", decoy));
  EXPECT_FALSE(verify_password("", decoy));
  EXPECT_EQ(hash_problem(decoy), "");
  EXPECT_EQ(hash_iterations(decoy), min_iterations);
  EXPECT_EQ(hash_iterations("md5:1:2:3"), 0u);
  EXPECT_TRUE(verify_password("pw", good, min_iterations + 1000))
      << "a cost above the hash's own changes the time spent, not the answer";
  EXPECT_FALSE(verify_password("px", good, min_iterations + 1000));
}

using sockit::test::TempDir;

TEST(UserFile, ParsesUsersKeepsCommentsAndRoundTrips) {
  std::string hash = quick_hash("secret");
  std::string text =
      "# users of the command service\n\nalice:" + hash + ":STATUS,INFO,HELP\nbob:" + hash + ":\n";
  UserFile file = UserFile::parse(text);
  const UserRecord* alice = file.find("alice");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->password_hash, hash);
  EXPECT_EQ(alice->permissions, (std::vector<std::string>{"STATUS", "INFO", "HELP"}));
  EXPECT_TRUE(alice->permits("INFO"));
  EXPECT_FALSE(alice->permits("TIME"));
  ASSERT_NE(file.find("bob"), nullptr);
  EXPECT_TRUE(file.find("bob")->permissions.empty());
  EXPECT_EQ(file.find("carol"), nullptr);
  EXPECT_EQ(file.users().size(), 2u);
  EXPECT_EQ(file.serialize(), text);
}

// A comment ending in CRs ("# note\r\r\n") is written back the same however many times the
// file is rewritten: the second load took one more CR off and the file changed again.
TEST(UserFile, CommentEndingInCarriageReturnsIsStableAcrossRewrites) {
  const std::string once = UserFile::parse("# note\r\r\n\r\n").serialize();
  EXPECT_EQ(UserFile::parse(once).serialize(), once);
}

TEST(UserFile, BadLinesNameFileAndLine) {
  std::string hash = quick_hash("secret");
  auto error_of = [](const std::string& text) {
    try {
      UserFile::parse(text, "users.txt");
    } catch (const sockit::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("# ok\nalice\n"),
            "users.txt:2: expected user:pbkdf2-sha256:ITERATIONS:SALT:HASH:PERMISSIONS");
  EXPECT_NE(error_of("alice:" + hash + ":status\n").find("users.txt:1: permission 'status'"),
            std::string::npos);
  EXPECT_NE(error_of("alice:sha1:1:2:3:STATUS\n").find("users.txt:1: password hash of alice"),
            std::string::npos);
  EXPECT_EQ(error_of("alice:" + hash + ":\nalice:" + hash + ":\n"),
            "users.txt:2: user alice appears twice");
}

TEST(UserFile, IterationCountsAboveTheBoundAreRefused) {
  const std::string salt(32, 'a');
  const std::string hash(64, 'b');
  try {
    UserFile::parse("dear:pbkdf2-sha256:2000000:" + salt + ":" + hash + ":HELP\n", "users.txt");
    FAIL() << "a login costing 2,000,000 iterations was accepted";
  } catch (const sockit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("users.txt:1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("iteration count 2000000 outside 100000..1000000"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(
      UserFile::parse("dear:pbkdf2-sha256:1000000:" + salt + ":" + hash + ":HELP\n", "users.txt"));
  EXPECT_THROW(hash_password("pw", 1'000'001), std::invalid_argument);
}

TEST(UserFile, NameAndPermissionRules) {
  EXPECT_EQ(UserFile::name_problem("alice"), "");
  EXPECT_NE(UserFile::name_problem(""), "");
  EXPECT_NE(UserFile::name_problem("a b"), "");
  EXPECT_NE(UserFile::name_problem("a:b"), "");
  EXPECT_NE(UserFile::name_problem(std::string(65, 'a')), "");
  EXPECT_EQ(UserFile::permission_problem("STATUS"), "");
  EXPECT_NE(UserFile::permission_problem("Status"), "");
  EXPECT_NE(UserFile::permission_problem(""), "");
  UserFile file;
  EXPECT_THROW(file.upsert(UserRecord{"bad name", quick_hash("x"), {}}), std::invalid_argument);
  EXPECT_THROW(file.upsert(UserRecord{"alice", "plaintext", {}}), std::invalid_argument);
}

// The owner's and group's bits carry over (a group may be how the service reads the file);
// others never get to read the hashes.
TEST(UserFile, SaveIsAtomicKeepsOwnerAndGroupBitsDropsOthersAndLoadsBack) {
  TempDir dir;
  std::string path = dir.file("users.txt");
  {
    std::ofstream old(path);
    old << "# old content\n";
  }
  ::chmod(path.c_str(), 0644);
  UserFile file = UserFile::load(path);
  file.upsert(UserRecord{"alice", quick_hash("one"), {"STATUS"}});
  file.save(path);
  file.upsert(UserRecord{"alice", quick_hash("two"), {"STATUS", "TIME"}});
  file.upsert(UserRecord{"bob", quick_hash("three"), {}});
  file.save(path);

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(dir.entries(), 1u) << "no temporary file left behind";

  UserFile loaded = UserFile::load(path);
  ASSERT_NE(loaded.find("alice"), nullptr);
  EXPECT_TRUE(verify_password("two", loaded.find("alice")->password_hash));
  EXPECT_EQ(loaded.find("alice")->permissions, (std::vector<std::string>{"STATUS", "TIME"}));
  ASSERT_NE(loaded.find("bob"), nullptr);
  EXPECT_EQ(loaded.serialize().rfind("# old content\n", 0), 0u);
}

TEST(UserFile, LoadAndSaveFailuresNameThePath) {
  TempDir dir;
  try {
    UserFile::load(dir.file("missing.txt"));
    ADD_FAILURE() << "no error";
  } catch (const sockit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos) << e.what();
  }
  UserFile file;
  EXPECT_THROW(file.save(dir.file("no/such/dir/users.txt")), sockit::Error);
}

TEST(LoginThrottle, FreeFailuresThenGrowingBackOffAndSuccessClears) {
  ThrottleOptions options;
  options.free_failures = 2;
  options.first_delay = 1000ms;
  options.max_delay = 4000ms;
  LoginThrottle throttle(options);
  auto t = Clock::time_point{} + 1h;
  EXPECT_TRUE(throttle.allowed("10.0.0.1", t));
  EXPECT_EQ(throttle.failed("10.0.0.1", t), 0ms);
  EXPECT_EQ(throttle.failed("10.0.0.1", t), 0ms);
  EXPECT_TRUE(throttle.allowed("10.0.0.1", t));
  EXPECT_EQ(throttle.failed("10.0.0.1", t), 1000ms);
  EXPECT_FALSE(throttle.allowed("10.0.0.1", t + 999ms));
  EXPECT_TRUE(throttle.allowed("127.0.0.2", t)) << "other addresses are unaffected";
  EXPECT_TRUE(throttle.allowed("10.0.0.1", t + 1000ms));
  EXPECT_EQ(throttle.failed("10.0.0.1", t + 1s), 2000ms);
  EXPECT_EQ(throttle.failed("10.0.0.1", t + 4s), 4000ms);
  EXPECT_EQ(throttle.failed("10.0.0.1", t + 9s), 4000ms) << "capped";
  throttle.succeeded("10.0.0.1");
  EXPECT_TRUE(throttle.allowed("10.0.0.1", t + 9s));
  EXPECT_EQ(throttle.tracked(), 0u);
}

TEST(LoginThrottle, QuietAddressesAreForgottenAndTableIsBounded) {
  ThrottleOptions options;
  options.free_failures = 0;
  options.forget_after = 60s;
  options.max_addresses = 3;
  LoginThrottle throttle(options);
  auto t = Clock::time_point{} + 1h;
  EXPECT_EQ(throttle.failed("a", t), 1000ms);
  EXPECT_EQ(throttle.failed("a", t + 61s), 1000ms) << "started over after a quiet minute";
  for (int i = 0; i < 10; ++i)
    throttle.failed("addr" + std::to_string(i), t + 62s + std::chrono::seconds(i));
  EXPECT_LE(throttle.tracked(), 3u);
}

TEST(LoginThrottle, AFullTableNeverForgetsAnAddressInBackOff) {
  ThrottleOptions options;
  options.free_failures = 0;
  options.first_delay = 60s;
  options.max_delay = 60s;
  options.max_addresses = 3;
  LoginThrottle throttle(options);
  auto t = Clock::time_point{} + 1h;
  EXPECT_EQ(throttle.failed("attacker", t), 60s);
  // Failures from many other addresses, as an attacker with many would cause, fill the table.
  for (int i = 0; i < 10; ++i)
    throttle.failed("other" + std::to_string(i), t + 1s + std::chrono::milliseconds(i));
  EXPECT_LE(throttle.tracked(), 3u);
  EXPECT_FALSE(throttle.allowed("attacker", t + 30s))
      << "making room for others must not end a back-off";
}

TEST(LoginThrottle, AFullTableDropsTheStalestAddressNotInBackOffOrRefusesNewOnes) {
  ThrottleOptions options;
  options.free_failures = 1;
  options.first_delay = 60s;
  options.max_addresses = 2;
  LoginThrottle throttle(options);
  auto t = Clock::time_point{} + 1h;
  throttle.failed("stale", t);  // free: no back-off
  throttle.failed("blocked", t + 1s);
  EXPECT_EQ(throttle.failed("blocked", t + 1s), 60s);
  ASSERT_TRUE(throttle.begin("new", t + 2s)) << "'stale' makes room";
  EXPECT_EQ(throttle.tracked(), 2u);
  EXPECT_FALSE(throttle.begin("newer", t + 3s))
      << "one address in back-off, one being checked: nothing may go";
  EXPECT_FALSE(throttle.allowed("blocked", t + 3s));
  throttle.abandoned("new");
  EXPECT_EQ(throttle.tracked(), 1u) << "an attempt never checked leaves nothing behind";
  EXPECT_TRUE(throttle.begin("newer", t + 3s));
}

TEST(LoginThrottle, AttemptsInFlightCountAsFailuresAcrossThreads) {
  ThrottleOptions options;
  options.free_failures = 3;
  LoginThrottle throttle(options);
  const auto t = Clock::time_point{} + 1h;
  // Many threads begin at once; the throttle lets through what sequential failures would.
  auto burst = [&](Clock::time_point now) {
    std::atomic<int> begun{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&] {
        while (!go.load())
          std::this_thread::yield();
        if (throttle.begin("10.1.1.1", now)) ++begun;
      });
    }
    go = true;
    for (auto& thread : threads)
      thread.join();
    return begun.load();
  };
  EXPECT_EQ(burst(t), 3);
  for (int i = 0; i < 3; ++i)
    throttle.failed("10.1.1.1", t);
  EXPECT_EQ(burst(t), 1) << "past the free failures, one at a time";
  EXPECT_EQ(throttle.failed("10.1.1.1", t), 1000ms);
  EXPECT_EQ(burst(t + 999ms), 0);
  EXPECT_EQ(burst(t + 1s), 1);
  throttle.succeeded("10.1.1.1");
  EXPECT_EQ(throttle.tracked(), 0u);
}

TEST(LoginThrottle, KeysAreIpv4AddressesAndIpv6Slash64s) {
  EXPECT_EQ(throttle_key(Address::parse("192.0.2.7", 1)), "192.0.2.7");
  EXPECT_EQ(throttle_key(Address::parse("::ffff:192.0.2.7", 1)), "192.0.2.7");
  EXPECT_EQ(throttle_key(Address::parse("2001:db8:a:b:c:d:e:f", 1)), "2001:db8:a:b::/64");
  EXPECT_EQ(throttle_key(Address::parse("fe80::1%lo", 1)), "fe80::/64");
  EXPECT_EQ(throttle_key(Address::unix_path("/tmp/s.sock")), "/tmp/s.sock");
}

// --- the command service, session by session ---------------------------------------

class FakeOutput final : public test::FakeRuntime {
 public:
  void write(std::string_view bytes) override {
    if (!closed_) written_ += bytes;
  }
  void close() override { closed_ = true; }
  bool closing() const noexcept override { return closed_; }
  std::shared_ptr<server::Peer> peer() override { return nullptr; }
  std::string take() { return std::exchange(written_, {}); }

 private:
  std::string written_;
  bool closed_ = false;
};

class CommandSessionTest : public ::testing::Test {
 protected:
  static const UserFile& users() {
    static const UserFile file = [] {
      UserFile f;
      f.upsert(UserRecord{"alice", quick_hash("wonder land"), {"STATUS", "INFO", "HELP", "TIME"}});
      f.upsert(UserRecord{"bob", quick_hash("builder"), {"HELP"}});
      return f;
    }();
    return file;
  }

  void SetUp() override {
    CommandOptions options;
    options.session_ttl = 30min;
    options.clock = [this] { return now; };
    options.throttle.free_failures = 3;
    service = std::make_shared<CommandService>(users(), options);
  }

  struct Conn {
    FakeOutput out;
    std::unique_ptr<server::Session> session;
    // Sends `line`, lets the worker pool check any password, and returns the answers.
    std::string say(std::string_view line) {
      session->on_data(line, out);
      out.run_off_loop_work();
      return out.take();
    }
  };

  Conn connect(std::string_view ip = "127.0.0.1") {
    Conn c;
    c.session = service->open(server::ConnectionInfo{Address::parse(ip, 50000), {}, {}});
    c.session->on_open(c.out);
    return c;
  }

  Clock::time_point now = Clock::time_point{} + 24h;
  std::shared_ptr<CommandService> service;
};

TEST_F(CommandSessionTest, AuthThenPermittedCommands) {
  Conn c = connect();
  EXPECT_EQ(c.say("STATUS\n"), "Unauthorized\n") << "nothing before AUTH";
  EXPECT_EQ(c.say("AUTH alice wonder land\n"), "Authenticated successfully\n")
      << "the password is the rest of the line, spaces included";
  now += 42s;
  EXPECT_EQ(c.say("STATUS\n"), "Status: OK, up 42s\n");
  EXPECT_EQ(c.say("INFO\r\n"), "Info: sockit command server, logged in as alice\n");
  EXPECT_EQ(c.say("HELP\n"), "Commands: STATUS, INFO, HELP, TIME\n");
  EXPECT_EQ(c.say("WHOAMI\n"), "Unauthorized\n") << "implemented, but not granted to alice";
  EXPECT_FALSE(c.out.closing());
}

TEST_F(CommandSessionTest, PasswordsAreCheckedOffTheConnectionAndLinesBehindWaitTheirTurn) {
  Conn c = connect();
  c.session->on_data("AUTH alice wonder land\nSTATUS\nHELP\n", c.out);
  EXPECT_EQ(c.out.take(), "") << "nothing answered before the password check is back";
  EXPECT_EQ(c.out.off_loop.size(), 1u);
  EXPECT_FALSE(c.out.reading) << "no more input is read while a check is out";
  c.out.run_off_loop_work();
  EXPECT_EQ(c.out.take(),
            "Authenticated successfully\nStatus: OK, up 0s\nCommands: STATUS, INFO, HELP, TIME\n");
  EXPECT_TRUE(c.out.reading);
}

TEST_F(CommandSessionTest, AFullWorkerPoolAnswersBusyAndCountsNoFailure) {
  Conn c = connect();
  c.out.off_loop_full = true;
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(c.say("AUTH alice wrong\n"), "Server busy, try again\n");
  EXPECT_FALSE(c.out.closing()) << "a busy server is not a failed login";
  c.out.off_loop_full = false;
  EXPECT_EQ(c.say("AUTH alice wonder land\n"), "Authenticated successfully\n");
}

TEST_F(CommandSessionTest, EofDuringACheckAnswersItThenCloses) {
  Conn c = connect();
  c.session->on_data("AUTH alice wonder land\nWHOAMI", c.out);
  c.session->on_eof(c.out);
  EXPECT_FALSE(c.out.closing()) << "the check is still out";
  c.out.run_off_loop_work();
  EXPECT_EQ(c.out.take(), "Authenticated successfully\nUnauthorized\n");
  EXPECT_TRUE(c.out.closing());
}

TEST_F(CommandSessionTest, WrongPasswordUnknownUserAndMissingArguments) {
  Conn c = connect();
  EXPECT_EQ(c.say("AUTH alice wrong\n"), "Unauthorized\n");
  EXPECT_EQ(c.say("AUTH nobody builder\n"), "Unauthorized\n");
  EXPECT_EQ(c.say("AUTH bob\n"), "Unauthorized\n");
  EXPECT_EQ(c.say("HELP\n"), "Unauthorized\n");
}

TEST_F(CommandSessionTest, UnpermittedCommandIsUnauthorized) {
  Conn c = connect();
  EXPECT_EQ(c.say("AUTH bob builder\n"), "Authenticated successfully\n");
  EXPECT_EQ(c.say("HELP\n"), "Commands: HELP\n");
  EXPECT_EQ(c.say("STATUS\n"), "Unauthorized\n");
  EXPECT_EQ(c.say("TIME\n"), "Unauthorized\n");
}

TEST_F(CommandSessionTest, UnknownCommandNotPermittedConnectionSurvives) {
  Conn c = connect();
  EXPECT_EQ(c.say("REBOOT\n"), "Error: Command not permitted\n");
  c.say("AUTH alice wonder land\n");
  EXPECT_EQ(c.say("SHUTDOWN\n"), "Error: Command not permitted\n");
  EXPECT_FALSE(c.out.closing());
  EXPECT_EQ(c.say("INFO\n"), "Info: sockit command server, logged in as alice\n");
}

TEST_F(CommandSessionTest, OverlongInputErrorsAndCloses) {
  Conn c = connect();
  EXPECT_EQ(c.say(std::string(300, 'A') + "\n"), "Error: Input exceeds maximum length\n");
  EXPECT_TRUE(c.out.closing());

  Conn exact = connect();
  EXPECT_EQ(exact.say(std::string(256, 'A') + "\n"), "Error: Command not permitted\n")
      << "256 bytes is still allowed";
  EXPECT_EQ(exact.say(std::string(256, 'A') + "\r\n"), "Error: Command not permitted\n")
      << "the CRLF is stripped before the length is checked";

  Conn unterminated = connect();
  EXPECT_EQ(unterminated.say(std::string(5000, 'A')), "Error: Input exceeds maximum length\n")
      << "no need to wait for a newline";
  EXPECT_TRUE(unterminated.out.closing());
}

TEST_F(CommandSessionTest, InvalidCharactersErrorAndClose) {
  for (std::string line : {"status\n", "STATUS1\n", "ST-ATUS\n", " STATUS\n", "STATUS\x01\n",
                           "auth alice wonder land\n"}) {
    Conn c = connect();
    EXPECT_EQ(c.say(line), "Error: Input contains invalid characters\n") << line;
    EXPECT_TRUE(c.out.closing()) << line;
  }
}

TEST_F(CommandSessionTest, EmptyLinesIgnored) {
  Conn c = connect();
  EXPECT_EQ(c.say("\n\r\n"), "");
  EXPECT_FALSE(c.out.closing());
}

TEST_F(CommandSessionTest, SessionsExpire) {
  Conn c = connect();
  c.say("AUTH alice wonder land\n");
  now += 29min;
  EXPECT_EQ(c.say("INFO\n"), "Info: sockit command server, logged in as alice\n");
  now += 2min;
  EXPECT_EQ(c.say("INFO\n"), "Unauthorized\n");
  EXPECT_EQ(c.say("AUTH alice wonder land\n"), "Authenticated successfully\n");
  EXPECT_EQ(c.say("INFO\n"), "Info: sockit command server, logged in as alice\n");
}

TEST_F(CommandSessionTest, RepeatedFailuresFromOneAddressBackOffAcrossConnections) {
  Conn first = connect("127.0.0.5");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(first.say("AUTH alice nope\n"), "Unauthorized\n");
  Conn second = connect("127.0.0.5");
  EXPECT_EQ(second.say("AUTH alice nope\n"), "Unauthorized\n") << "4th failure opens a back-off";
  EXPECT_EQ(second.say("AUTH alice wonder land\n"), "Too many failed attempts, try again later\n")
      << "refused unchecked, even with the right password";
  Conn elsewhere = connect("127.0.0.6");
  EXPECT_EQ(elsewhere.say("AUTH alice wonder land\n"), "Authenticated successfully\n");
  now += 2s;
  EXPECT_EQ(second.say("AUTH alice wonder land\n"), "Authenticated successfully\n");
}

TEST_F(CommandSessionTest, TooManyFailuresOnOneConnectionClose) {
  Conn c = connect("127.0.0.9");
  for (int i = 0; i < 4; ++i) {
    now += 10min;  // past any back-off
    EXPECT_EQ(c.say("AUTH alice nope\n"), "Unauthorized\n");
    EXPECT_FALSE(c.out.closing());
  }
  now += 10min;
  EXPECT_EQ(c.say("AUTH alice nope\n"),
            "Unauthorized\nToo many AUTH attempts on this connection\n");
  EXPECT_TRUE(c.out.closing()) << "5th failure on one connection";
}

TEST_F(CommandSessionTest, ParallelConnectionsFromOneAddressGetNoMoreGuessesThanOne) {
  // Ten connections from one address each send an AUTH before any check has come back.
  auto round = [this](std::string_view line) {
    std::vector<std::unique_ptr<Conn>> conns;
    std::size_t checks = 0;
    for (std::uint16_t i = 0; i < 10; ++i) {
      auto c = std::make_unique<Conn>();
      c->session =
          service->open(server::ConnectionInfo{Address::parse("127.0.0.7", 40000 + i), {}, {}});
      c->session->on_data(line, c->out);
      checks += c->out.off_loop.size();
      conns.push_back(std::move(c));
    }
    std::string answers;
    for (auto& c : conns) {
      c->out.run_off_loop_work();
      answers += c->out.take();
    }
    return std::make_pair(checks, answers);
  };
  auto count = [](const std::string& text, const std::string& line) {
    std::size_t n = 0;
    for (auto at = text.find(line); at != std::string::npos; at = text.find(line, at + 1))
      ++n;
    return n;
  };
  const std::string refused = "Too many failed attempts, try again later\n";
  auto [checks, answers] = round("AUTH alice nope\n");
  EXPECT_EQ(checks, 3u) << "only the 3 free failures are checked at once";
  EXPECT_EQ(count(answers, "Unauthorized\n"), 3u) << answers;
  EXPECT_EQ(count(answers, refused), 7u) << answers;

  std::tie(checks, answers) = round("AUTH alice nope\n");
  EXPECT_EQ(checks, 1u) << "past the free failures, one guess at a time";
  EXPECT_EQ(count(answers, refused), 9u) << answers;

  std::tie(checks, answers) = round("AUTH alice wonder land\n");
  EXPECT_EQ(checks, 0u) << "the failure opened a back-off";
  now += 1s;
  std::tie(checks, answers) = round("AUTH alice wonder land\n");
  EXPECT_EQ(checks, 1u);
  EXPECT_EQ(count(answers, "Authenticated successfully\n"), 1u) << answers;
}

TEST_F(CommandSessionTest, AConnectionGoneBeforeItsCheckRunsLeavesNoFailureBehind) {
  for (int i = 0; i < 5; ++i) {
    Conn c = connect("127.0.0.8");
    c.session->on_data("AUTH alice nope\n", c.out);
    ASSERT_EQ(c.out.off_loop.size(), 1u);
    c.out.off_loop.clear();  // the connection closed: its work is dropped unrun
  }
  Conn c = connect("127.0.0.8");
  EXPECT_EQ(c.say("AUTH alice wonder land\n"), "Authenticated successfully\n");
}

TEST_F(CommandSessionTest, AnIpv6ClientIsThrottledByItsSlash64) {
  Conn first = connect("2001:db8:1:2::1");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(first.say("AUTH alice nope\n"), "Unauthorized\n");
  Conn neighbour = connect("2001:db8:1:2:ffff:ffff:ffff:fffe");
  EXPECT_EQ(neighbour.say("AUTH alice wonder land\n"),
            "Too many failed attempts, try again later\n")
      << "another address of the same /64 shares the back-off";
  Conn next_net = connect("2001:db8:1:3::1");
  EXPECT_EQ(next_net.say("AUTH alice wonder land\n"), "Authenticated successfully\n");

  Conn mapped = connect("::ffff:192.0.2.1");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(mapped.say("AUTH alice nope\n"), "Unauthorized\n");
  Conn plain = connect("192.0.2.1");
  EXPECT_EQ(plain.say("AUTH alice wonder land\n"), "Too many failed attempts, try again later\n")
      << "a v4-mapped address is its IPv4 address";
  Conn mapped_other = connect("::ffff:192.0.2.2");
  EXPECT_EQ(mapped_other.say("AUTH alice wonder land\n"), "Authenticated successfully\n")
      << "IPv4 clients of a dual-stack socket are not one /64";
}

TEST_F(CommandSessionTest, AuthLinesPerConnectionAreCappedEvenWhenTheySucceed) {
  Conn c = connect();
  std::string pipelined;
  for (int i = 0; i < 50; ++i)
    pipelined += "AUTH bob builder\n";
  c.session->on_data(pipelined, c.out);  // one write
  c.out.run_off_loop_work();
  std::string expected;
  for (int i = 0; i < 10; ++i)
    expected += "Authenticated successfully\n";
  expected += "Too many AUTH attempts on this connection\n";
  EXPECT_EQ(c.out.take(), expected);
  EXPECT_TRUE(c.out.closing());
}

TEST_F(CommandSessionTest, LastLineWithoutNewlineAnsweredAtEof) {
  Conn c = connect();
  c.say("AUTH bob builder\nHELP");
  c.session->on_eof(c.out);
  EXPECT_EQ(c.out.take(), "Commands: HELP\n");
  EXPECT_TRUE(c.out.closing());
}

TEST(CommandService, TheDecoyForUnknownUsersCostsTheFileMaximum) {
  UserFile file;
  file.upsert(UserRecord{"cheap", hash_password("a", min_iterations), {"HELP"}});
  file.upsert(UserRecord{"dear", hash_password("b", 300'000), {"HELP"}});
  file.upsert(UserRecord{"usual", hash_password("c", 200'000), {"HELP"}});
  EXPECT_EQ(CommandService(file).decoy_iterations(), 300'000u)
      << "an unknown user must cost what the dearest known one does";
}

TEST(CommandWords, TheWhitelist) {
  std::vector<std::string> words(command_words().begin(), command_words().end());
  EXPECT_EQ(words, (std::vector<std::string>{"STATUS", "INFO", "HELP", "WHOAMI", "TIME"}));
}

}  // namespace
}  // namespace sockit::auth
