// Password hashing, the user file, the login throttle, and the command service's protocol
// driven through a fake Output (every answer string exactly as the protocol specifies).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

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
  EXPECT_FALSE(verify_password("pw", decoy_hash()));
  EXPECT_EQ(hash_problem(decoy_hash()), "");
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
  EXPECT_EQ(c.say("AUTH alice nope\n"), "Unauthorized\n");
  EXPECT_TRUE(c.out.closing()) << "5th failure on one connection";
}

TEST_F(CommandSessionTest, LastLineWithoutNewlineAnsweredAtEof) {
  Conn c = connect();
  c.say("AUTH bob builder\nHELP");
  c.session->on_eof(c.out);
  EXPECT_EQ(c.out.take(), "Commands: HELP\n");
  EXPECT_TRUE(c.out.closing());
}

TEST(CommandWords, TheWhitelist) {
  std::vector<std::string> words(command_words().begin(), command_words().end());
  EXPECT_EQ(words, (std::vector<std::string>{"STATUS", "INFO", "HELP", "WHOAMI", "TIME"}));
}

}  // namespace
}  // namespace sockit::auth
