// sockit-test-labels: threaded
// The chat, UDP time/echo and command services of `sockit serve`, talked to by Ruby's own
// socket library running the seeds' client code (tests/peers/*.rb): three chat clients on
// every architecture that can hold a room (and the refusal on the others), the UDP time
// protocol, and the command server's answers, all compared as exact strings.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "serve_fixture.hpp"
#include "support/process.hpp"
#include "support/require_tool.hpp"
#include "support/temp_dir.hpp"

namespace sockit::test {
namespace {

#define REQUIRE_RUBY() SOCKIT_REQUIRE_TOOL("ruby")

std::string peer(std::string_view script) {
  return source(std::string("tests/peers/") + std::string(script));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

using sockit::test::TempDir;

// --- chat ----------------------------------------------------------------------------

struct ChatPeer {
  ChatPeer(std::uint16_t port, const std::string& nick)
      : process({"ruby", peer("chat_client.rb"), std::to_string(port), nick}) {}
  bool sees(std::string_view line) {
    return process.wait_stdout(std::string(line) + "\n", std::chrono::seconds(30));
  }
  void say(std::string_view line) { process.write_stdin(std::string(line) + "\n"); }
  Process process;
};

// --workers 4: hybrid runs several reactors, so members sit on different ones; a pool
// holds one thread per member, so it needs at least as many threads as clients.
class ChatOnArchitecture : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatOnArchitecture, ThreeRubyClientsJoinTalkAndLeave) {
  REQUIRE_RUBY();
  ServeProcess server("chat", GetParam(), {"--workers", "4"});
  ASSERT_TRUE(server.ok());

  ChatPeer alice(server.port, "alice");
  ASSERT_TRUE(alice.sees("Welcome to the chat, alice")) << alice.process.stderr_text();
  ChatPeer bob(server.port, "bob");
  ASSERT_TRUE(bob.sees("Welcome to the chat, bob")) << bob.process.stderr_text();
  ASSERT_TRUE(alice.sees("bob joined the chat")) << alice.process.stdout_text();
  ChatPeer carol(server.port, "carol");
  ASSERT_TRUE(carol.sees("Welcome to the chat, carol"));
  ASSERT_TRUE(alice.sees("carol joined the chat"));
  ASSERT_TRUE(bob.sees("carol joined the chat"));

  bob.say("hello from bob");
  ASSERT_TRUE(alice.sees("bob: hello from bob"));
  ASSERT_TRUE(carol.sees("bob: hello from bob"));
  carol.say("hi bob");
  ASSERT_TRUE(alice.sees("carol: hi bob"));
  ASSERT_TRUE(bob.sees("carol: hi bob"));

  // A client whose process dies: the kernel closes its socket, the others carry on.
  carol.process.signal(SIGKILL);
  ASSERT_TRUE(alice.sees("carol left the chat"));
  ASSERT_TRUE(bob.sees("carol left the chat"));
  alice.say("still here");
  ASSERT_TRUE(bob.sees("alice: still here"));

  bob.process.close_stdin();  // bob leaves politely
  ASSERT_TRUE(bob.sees("[closed]"));
  ASSERT_TRUE(alice.sees("bob left the chat"));
  alice.process.close_stdin();
  ASSERT_TRUE(alice.sees("[closed]"));

  EXPECT_EQ(alice.process.stdout_text(),
            "Welcome to the chat, alice\n"
            "bob joined the chat\n"
            "carol joined the chat\n"
            "bob: hello from bob\n"
            "carol: hi bob\n"
            "carol left the chat\n"
            "bob left the chat\n"
            "[closed]\n");
  EXPECT_EQ(bob.process.stdout_text(),
            "Welcome to the chat, bob\n"
            "carol joined the chat\n"
            "carol: hi bob\n"
            "carol left the chat\n"
            "alice: still here\n"
            "[closed]\n");
  EXPECT_TRUE(alice.process.finish().success());
  EXPECT_TRUE(bob.process.finish().success());
  EXPECT_TRUE(server.terminate().success()) << server.process->stderr_text();
}

TEST_P(ChatOnArchitecture, DuplicateNicknameRefusedThenAnotherAccepted) {
  REQUIRE_RUBY();
  ServeProcess server("chat", GetParam(), {"--workers", "4"});
  ASSERT_TRUE(server.ok());
  ChatPeer first(server.port, "dana");
  ASSERT_TRUE(first.sees("Welcome to the chat, dana"));
  ChatPeer second(server.port, "Dana");
  ASSERT_TRUE(second.sees("Nickname taken: Dana, choose another"));
  second.say("dana2");
  ASSERT_TRUE(second.sees("Welcome to the chat, dana2"));
  ASSERT_TRUE(first.sees("dana2 joined the chat"));
  EXPECT_EQ(first.process.stdout_text().find("Dana joined"), std::string::npos);
  EXPECT_TRUE(server.terminate().success()) << server.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Services, ChatOnArchitecture,
                         ::testing::Values("thread", "pool", "reactor", "hybrid", "uring"),
                         arch_param_name);

class ChatRefused : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatRefused, AtStartUpWithTheReasonAndTheAlternatives) {
  Process server({binary("bin/sockit"), "serve", "chat", "--arch", GetParam(), "--port", "0"});
  ExitStatus status = server.finish();
  EXPECT_TRUE(status.exited);
  EXPECT_EQ(status.code, 2) << "a usage error";
  const std::string& err = server.stderr_text();
  EXPECT_NE(err.find("sockit: serve: service 'chat'"), std::string::npos) << err;
  EXPECT_NE(err.find("the " + GetParam() + " architecture cannot give"), std::string::npos) << err;
  EXPECT_NE(err.find("use one of: thread, pool, reactor, hybrid"), std::string::npos) << err;
  EXPECT_EQ(err.find("listening on"), std::string::npos) << "refused before listening";
}

INSTANTIATE_TEST_SUITE_P(Services, ChatRefused, ::testing::Values("serial", "fork", "prefork"),
                         arch_param_name);

// --- UDP time and echo -----------------------------------------------------------------

// A UDP `sockit serve` child (no --arch: it does not apply).
struct UdpServe {
  explicit UdpServe(std::vector<std::string> args) {
    std::vector<std::string> argv{binary("bin/sockit"), "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--port", "0"});
    process.emplace(std::move(argv));
    if (auto p = wait_listening_port(*process)) port = *p;
  }
  std::optional<Process> process;
  std::uint16_t port = 0;
};

TEST(UdpTime, RubyClientGetsEachFormAndTheErrorText) {
  REQUIRE_RUBY();
  UdpServe server({"time"});
  ASSERT_NE(server.port, 0) << server.process->stderr_text();
  EXPECT_NE(server.process->stderr_text().find("(time, udp)"), std::string::npos);

  std::time_t before = std::time(nullptr);
  Process client({"ruby", peer("time_client.rb"), std::to_string(server.port), "TIME", "TIMESTAMP",
                  "ISO8601", "HELLO", "  TIMESTAMP \n", "time"});
  ASSERT_TRUE(client.finish().success()) << client.stderr_text();
  std::time_t after = std::time(nullptr);
  auto lines = lines_of(client.stdout_text());
  ASSERT_EQ(lines.size(), 7u) << client.stdout_text();

  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4})")))
      << lines[0];
  long long stamp = std::stoll(lines[1]);
  EXPECT_EQ(lines[1], std::to_string(stamp)) << "digits only";
  EXPECT_GE(stamp, before - 1);
  EXPECT_LE(stamp, after + 1);
  EXPECT_TRUE(
      std::regex_match(lines[2], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)")))
      << lines[2];
  ASSERT_EQ(lines[3].rfind("parsed: ", 0), 0u) << "Ruby's Time.iso8601 accepts it";
  long long parsed = std::stoll(lines[3].substr(8));
  EXPECT_GE(parsed, stamp);
  EXPECT_LE(parsed, after + 1);
  EXPECT_EQ(lines[4], "Unknown command. Use TIME, TIMESTAMP, or ISO8601");
  EXPECT_EQ(lines[5], std::to_string(std::stoll(lines[5]))) << "whitespace around is ignored";
  EXPECT_EQ(lines[6], "Unknown command. Use TIME, TIMESTAMP, or ISO8601") << "case matters";

  EXPECT_TRUE(server.process->running()) << "still serving";
  server.process->signal(SIGTERM);
  EXPECT_TRUE(server.process->finish().success()) << server.process->stderr_text();
}

TEST(UdpTime, ArchitecturesDoNotApplyToUdp) {
  Process server({binary("bin/sockit"), "serve", "time", "--arch", "thread", "--port", "0"});
  ExitStatus status = server.finish();
  EXPECT_EQ(status.code, 2);
  EXPECT_NE(server.stderr_text().find("--arch thread does not apply to the UDP service 'time'"),
            std::string::npos)
      << server.stderr_text();
}

TEST(UdpEcho, RubyClientGetsReceivedPrefix) {
  REQUIRE_RUBY();
  UdpServe server({"echo", "--udp"});
  ASSERT_NE(server.port, 0) << server.process->stderr_text();
  Process client({"ruby", peer("udp_client.rb"), std::to_string(server.port), "hello udp"});
  ASSERT_TRUE(client.finish().success()) << client.stderr_text();
  EXPECT_EQ(client.stdout_text(), "Received: hello udp\n");
  server.process->signal(SIGTERM);
  EXPECT_TRUE(server.process->finish().success());
}

TEST(UdpEcho, OversizedDatagramsDroppedAndServerCarriesOn) {
  REQUIRE_RUBY();
  UdpServe server({"echo", "--udp", "--max-line", "16"});
  ASSERT_NE(server.port, 0) << server.process->stderr_text();
  const std::string script =
      "s = UDPSocket.new; p = Integer(ARGV[0]); s.send('x' * 17, 0, '127.0.0.1', p);"
      "puts(IO.select([s], nil, nil, 1) ? 'answered' : 'dropped');"
      "s.send('x' * 16, 0, '127.0.0.1', p);"
      "abort 'no reply' unless IO.select([s], nil, nil, 20); puts s.recvfrom(100)[0]";
  Process client({"ruby", "-rsocket", "-e", script, std::to_string(server.port)});
  ASSERT_TRUE(client.finish().success()) << client.stderr_text();
  EXPECT_EQ(client.stdout_text(), "dropped\nReceived: " + std::string(16, 'x') + "\n");
  server.process->signal(SIGTERM);
  EXPECT_TRUE(server.process->finish().success());
}

TEST(UdpEcho, RateLimitPerAddressDropsTheExcess) {
  REQUIRE_RUBY();
  UdpServe server({"echo", "--udp", "--rate", "1"});
  ASSERT_NE(server.port, 0) << server.process->stderr_text();
  // Ten datagrams at once against one per second (burst 1): the first is answered, most of
  // the rest dropped silently (an answer would make the server a reflector).
  const std::string script =
      "s = UDPSocket.new; p = Integer(ARGV[0]);"
      "10.times { |i| s.send(\"m#{i}\", 0, '127.0.0.1', p) };"
      "n = 0; n += 1 while IO.select([s], nil, nil, 2) && s.recvfrom(100); puts n";
  Process client({"ruby", "-rsocket", "-e", script, std::to_string(server.port)});
  ASSERT_TRUE(client.finish(std::chrono::seconds(60)).success()) << client.stderr_text();
  int answered = std::stoi(client.stdout_text());
  EXPECT_GE(answered, 1);
  EXPECT_LT(answered, 10);
  server.process->signal(SIGTERM);
  EXPECT_TRUE(server.process->finish().success());
}

// --- command server and sockit passwd --------------------------------------------------

// Runs `sockit passwd` with `password` on stdin.
ExitStatus run_passwd(std::vector<std::string> args, const std::string& password,
                      std::string* err = nullptr) {
  std::vector<std::string> argv{binary("bin/sockit"), "passwd"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(std::move(argv));
  try {
    p.write_stdin(password);
  } catch (const std::exception&) {
    // A run refused before it reads the password may already be gone (EPIPE).
  }
  p.close_stdin();
  ExitStatus status = p.finish(std::chrono::seconds(60));
  if (err) *err = p.stderr_text();
  return status;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Passwd, CreatesAndUpdatesTheUserFileOwnerOnly) {
  TempDir dir;
  std::string users = dir.file("users.txt");
  std::string err;
  ASSERT_TRUE(run_passwd({users, "alice"}, "first pw\n", &err).success()) << err;
  EXPECT_EQ(err, "added alice in " + users + " (may run: STATUS,INFO,HELP)\n");
  std::string text = read_file(users);
  EXPECT_TRUE(std::regex_match(
      text,
      std::regex(R"(alice:pbkdf2-sha256:210000:[0-9a-f]{32}:[0-9a-f]{64}:STATUS,INFO,HELP\n)")))
      << text;
  struct stat st {};
  ASSERT_EQ(::stat(users.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ASSERT_TRUE(run_passwd({users, "bob", "--permit", "HELP,TIME"}, "b\n", &err).success()) << err;
  ASSERT_TRUE(run_passwd({users, "alice"}, "second pw\n", &err).success()) << err;
  EXPECT_EQ(err, "updated alice in " + users + " (may run: STATUS,INFO,HELP)\n")
      << "a new password keeps the permissions";
  std::string updated = read_file(users);
  EXPECT_NE(updated, text);
  EXPECT_NE(updated.find(":HELP,TIME\n"), std::string::npos) << updated;
  EXPECT_EQ(lines_of(updated).size(), 2u);
}

TEST(Passwd, RunsAtTheSameTimeOnOneFileLoseNoUpdate) {
  TempDir dir;
  const std::string users = dir.file("users.txt");
  constexpr int count = 6;
  std::vector<std::unique_ptr<Process>> runs;
  for (int i = 0; i < count; ++i) {
    runs.push_back(std::make_unique<Process>(
        std::vector<std::string>{binary("bin/sockit"), "passwd", users, "user" + std::to_string(i),
                                 "--iterations", "100000"}));
    runs.back()->write_stdin("pw\n");
    runs.back()->close_stdin();
  }
  for (auto& run : runs)
    EXPECT_TRUE(run->finish(std::chrono::seconds(60)).success()) << run->stderr_text();
  const std::string text = read_file(users);
  EXPECT_EQ(lines_of(text).size(), static_cast<std::size_t>(count)) << text;
  for (int i = 0; i < count; ++i)
    EXPECT_NE(text.find("user" + std::to_string(i) + ":"), std::string::npos) << text;
}

TEST(Passwd, RefusesUnknownCommandsEmptyPasswordsAndBadNames) {
  TempDir dir;
  std::string users = dir.file("users.txt");
  std::string err;
  ExitStatus status = run_passwd({users, "alice", "--permit", "STATUS,REBOOT"}, "pw\n", &err);
  EXPECT_EQ(status.code, 2);
  EXPECT_EQ(err,
            "sockit: passwd: unknown command 'REBOOT' (commands: STATUS, INFO, HELP, WHOAMI, "
            "TIME)\n");
  status = run_passwd({users, "alice"}, "\n", &err);
  EXPECT_EQ(status.code, 2);
  EXPECT_EQ(err, "sockit: passwd: empty password refused\n");
  status = run_passwd({users, "al:ice"}, "pw\n", &err);
  EXPECT_EQ(status.code, 2);
  EXPECT_NE(err.find("user name 'al:ice'"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(users)) << "nothing written on failure";
}

// The service reads "AUTH user password" as one line of at most 256 bytes without control
// characters: a password that cannot fit in it, or holds one, could never log in.
TEST(Passwd, RefusesPasswordsTheServiceCouldNeverAccept) {
  TempDir dir;
  std::string users = dir.file("users.txt");
  std::string err;
  // "AUTH alice " is 11 bytes: 245 bytes of password fill the line exactly.
  ASSERT_TRUE(run_passwd({users, "alice"}, std::string(245, 'p') + "\n", &err).success()) << err;
  ExitStatus status = run_passwd({users, "alice"}, std::string(246, 'p') + "\n", &err);
  EXPECT_EQ(status.code, 2);
  EXPECT_EQ(err,
            "sockit: passwd: password longer than 245 bytes (the service reads AUTH, the user "
            "name and the password as one line of at most 256 bytes)\n");
  for (const std::string& bad : std::vector<std::string>{"tab\there", std::string("nul\0here", 8),
                                                         "esc\x1b[2J", "del\x7f"}) {
    status = run_passwd({users, "bob"}, bad + "\n", &err);
    EXPECT_EQ(status.code, 2) << bad;
    EXPECT_EQ(err,
              "sockit: passwd: password holds a control character, which the service refuses\n");
  }
  EXPECT_EQ(lines_of(read_file(users)).size(), 1u) << "nothing written for a refused password";
}

// The lock file and the user file are opened without following a symbolic link, so a link
// planted in the directory cannot point an update at another file.
TEST(Passwd, RefusesSymbolicLinksForTheUserFileAndItsLock) {
  TempDir dir;
  const std::string users = dir.file("users.txt");
  const std::string target = dir.file("target.txt");
  std::string err;
  {
    std::ofstream out(target);
    out << "# not a user file of ours\n";
  }
  std::filesystem::create_symlink(target, users);
  ExitStatus status = run_passwd({users, "alice"}, "pw\n", &err);
  EXPECT_EQ(status.code, 1);
  EXPECT_NE(err.find("is a symbolic link"), std::string::npos) << err;
  EXPECT_TRUE(std::filesystem::is_symlink(users)) << "the link was replaced";
  EXPECT_EQ(read_file(target), "# not a user file of ours\n");

  const std::string other = dir.file("other.txt");
  std::filesystem::create_symlink(target, other + ".lock");
  status = run_passwd({other, "alice"}, "pw\n", &err);
  EXPECT_EQ(status.code, 1);
  EXPECT_NE(err.find("passwd: open " + other + ".lock"), std::string::npos) << err;
  EXPECT_EQ(read_file(target), "# not a user file of ours\n");
  EXPECT_FALSE(std::filesystem::exists(other));
}

// Rewriting keeps the file's mode, owner and group, so an administrator's chgrp/chmod for
// the service's account survives a password change.
TEST(Passwd, KeepsTheUserFilesModeAndGroup) {
  TempDir dir;
  const std::string users = dir.file("users.txt");
  std::string err;
  ASSERT_TRUE(run_passwd({users, "alice"}, "pw\n", &err).success()) << err;
  ASSERT_EQ(::chmod(users.c_str(), 0640), 0);
  // Root may give the file any group; anyone else, their own.
  const gid_t group = ::geteuid() == 0 ? 1 : ::getegid();
  ASSERT_EQ(::chown(users.c_str(), static_cast<uid_t>(-1), group), 0) << std::strerror(errno);
  ASSERT_TRUE(run_passwd({users, "bob"}, "pw\n", &err).success()) << err;
  struct stat st {};
  ASSERT_EQ(::stat(users.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(st.st_gid, group);
  EXPECT_EQ(lines_of(read_file(users)).size(), 2u);
}

class CommandServer : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // A fork server's parent runs threads of its own (the SIGUSR2 restart watcher), and a
    // connection process checks passwords on a worker thread: ThreadSanitizer refuses to
    // start threads after a fork from a threaded process ("not supported", exit 66).
    if (GetParam() == "fork" &&
        std::string_view(SOCKIT_SANITIZE).find("thread") != std::string_view::npos) {
      GTEST_SKIP() << "fork starts threads in a child of a threaded process; not run under "
                      "ThreadSanitizer";
    }
    users_ = dir_.file("users.txt");
    std::string err;
    ASSERT_TRUE(run_passwd({users_, "alice"}, "s3cret pw\n", &err).success()) << err;
    ASSERT_TRUE(run_passwd({users_, "bob", "--permit", "HELP"}, "builder\n", &err).success())
        << err;
  }

  // Runs the Ruby line client with these lines; returns what it printed, line by line.
  std::vector<std::string> session(std::uint16_t port, std::vector<std::string> lines) {
    std::vector<std::string> argv{"ruby", peer("line_client.rb"), std::to_string(port)};
    argv.insert(argv.end(), lines.begin(), lines.end());
    Process client(std::move(argv));
    ExitStatus status = client.finish(std::chrono::seconds(60));
    EXPECT_TRUE(status.success()) << client.stderr_text();
    return lines_of(client.stdout_text());
  }

  TempDir dir_;
  std::string users_;
};

TEST_P(CommandServer, AuthPermissionsAndErrorsAsSpecified) {
  REQUIRE_RUBY();
  ServeProcess server("command", GetParam(), {"--users", users_});
  ASSERT_TRUE(server.ok());

  auto alice = session(server.port, {"STATUS", "AUTH alice wrong", "AUTH alice s3cret pw", "STATUS",
                                     "INFO", "HELP", "TIME", "REBOOT"});
  ASSERT_EQ(alice.size(), 9u);
  EXPECT_EQ(alice[0], "Unauthorized");
  EXPECT_EQ(alice[1], "Unauthorized");
  EXPECT_EQ(alice[2], "Authenticated successfully");
  EXPECT_TRUE(std::regex_match(alice[3], std::regex(R"(Status: OK, up \d+s)"))) << alice[3];
  EXPECT_EQ(alice[4], "Info: sockit command server, logged in as alice");
  EXPECT_EQ(alice[5], "Commands: STATUS, INFO, HELP");
  EXPECT_EQ(alice[6], "Unauthorized") << "TIME is not granted to alice";
  EXPECT_EQ(alice[7], "Error: Command not permitted");
  EXPECT_EQ(alice[8], "[closed]");

  auto bob = session(server.port, {"AUTH bob builder", "HELP", "STATUS"});
  EXPECT_EQ(bob, (std::vector<std::string>{"Authenticated successfully", "Commands: HELP",
                                           "Unauthorized", "[closed]"}));

  EXPECT_EQ(session(server.port, {std::string(300, 'A'), "STATUS"}),
            (std::vector<std::string>{"Error: Input exceeds maximum length", "[closed]"}));
  EXPECT_EQ(session(server.port, {"status", "STATUS"}),
            (std::vector<std::string>{"Error: Input contains invalid characters", "[closed]"}));
  EXPECT_EQ(session(server.port, {"ST@TUS"}),
            (std::vector<std::string>{"Error: Input contains invalid characters", "[closed]"}));
  EXPECT_EQ(session(server.port, {"REBOOT", "AUTH bob builder"}),
            (std::vector<std::string>{"Error: Command not permitted", "Authenticated successfully",
                                      "[closed]"}));

  EXPECT_TRUE(server.terminate().success()) << server.process->stderr_text();
}

INSTANTIATE_TEST_SUITE_P(Services, CommandServer, ::testing::Values("thread", "fork", "reactor"),
                         arch_param_name);

TEST(CommandServerSetup, ForkAndPreforkSayTheLoginBackOffIsPerProcess) {
  TempDir dir;
  const std::string users = dir.file("users.txt");
  std::string err;
  ASSERT_TRUE(run_passwd({users, "alice", "--iterations", "100000"}, "pw\n", &err).success())
      << err;
  for (const char* arch : {"fork", "prefork", "thread"}) {
    ServeProcess server("command", arch, {"--users", users});
    ASSERT_TRUE(server.ok()) << arch;
    EXPECT_TRUE(server.terminate().success()) << arch;
    const std::string log = server.process->stderr_text();
    const bool said = log.find(
                          "command: the back-off for failed logins (per address) is kept "
                          "per process") != std::string::npos;
    EXPECT_EQ(said, std::string(arch) != "thread") << arch << ": " << log;
  }
}

TEST(Passwd, IterationsAboveTheBoundAreRefused) {
  TempDir dir;
  std::string err;
  ExitStatus status =
      run_passwd({dir.file("users.txt"), "alice", "--iterations", "1000001"}, "pw\n", &err);
  EXPECT_EQ(status.code, 2) << err;
  EXPECT_NE(err.find("--iterations"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("users.txt")));
}

TEST(CommandServerSetup, MissingOrBrokenUserFileIsAClearError) {
  Process missing({binary("bin/sockit"), "serve", "command", "--port", "0"});
  ExitStatus status = missing.finish();
  EXPECT_EQ(status.code, 2);
  EXPECT_NE(missing.stderr_text().find("the command service needs --users FILE"), std::string::npos)
      << missing.stderr_text();

  TempDir dir;
  std::string users = dir.file("users.txt");
  {
    std::ofstream out(users);
    out << "alice:plaintext\n";
  }
  Process broken({binary("bin/sockit"), "serve", "command", "--users", users, "--port", "0"});
  status = broken.finish();
  EXPECT_EQ(status.code, 1);
  EXPECT_NE(broken.stderr_text().find(users + ":1: expected user:pbkdf2-sha256"), std::string::npos)
      << broken.stderr_text();
}

// Passwords cross the network in clear text without TLS: a command server on anything but
// loopback says so at start. 192.0.2.1 (TEST-NET-1) is no address of this host, so the
// server warns, then fails to bind, and nothing listens beyond loopback.
TEST(CommandServerSetup, WarnsAtStartThatPasswordsCrossTheNetworkInClear) {
  TempDir dir;
  std::string users = dir.file("users.txt");
  std::string err;
  ASSERT_TRUE(run_passwd({users, "alice"}, "pw\n", &err).success()) << err;
  const std::string warning =
      "sockit: serve: warning: command on 192.0.2.1 without TLS: passwords cross the network "
      "in clear text (--tls-cert and --tls-key encrypt them)\n";

  Process exposed({binary("bin/sockit"), "serve", "command", "--users", users, "--host",
                   "192.0.2.1", "--port", "0"});
  EXPECT_EQ(exposed.finish().code, 1);
  EXPECT_EQ(exposed.stderr_text().rfind(warning, 0), 0u) << exposed.stderr_text();

  for (const char* host : {"127.0.0.1", "::1"}) {
    Process local({binary("bin/sockit"), "serve", "command", "--users", users, "--host", host,
                   "--port", "0"});
    ASSERT_TRUE(local.wait_stderr("listening on")) << local.stderr_text();
    local.signal(SIGTERM);
    EXPECT_TRUE(local.finish().success()) << local.stderr_text();
    EXPECT_EQ(local.stderr_text().find("warning"), std::string::npos) << local.stderr_text();
  }
}

}  // namespace
}  // namespace sockit::test
