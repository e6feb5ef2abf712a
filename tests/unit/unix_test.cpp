// Unix sockets: stale-file handling of UnixServer (and what it must never delete),
// abstract names, socket pairs, descriptor passing both ways and peer credentials.
#include "sockit/unix.hpp"
#include "support/socket_io.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "sockit/error.hpp"

namespace sockit {
namespace {

using namespace std::chrono_literals;

using sockit::test::TempDir;

bool is_socket_file(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using sockit::test::receive_text;

void expect_talks(UnixServer& server, UnixSocket& client) {
  UnixAccepted accepted = server.accept(10s);
  client.send("Hello");
  EXPECT_EQ(receive_text(accepted.socket, 5), "Hello");
  accepted.socket.send("Processed: Hello");
  EXPECT_EQ(receive_text(client, 16), "Processed: Hello");
}

std::string unique_abstract_name() {
  static std::atomic<int> counter{0};
  return "sockit-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

TEST(UnixServer, ServesAPath) {
  TempDir dir;
  const std::string path = dir.file("app.sock");
  UnixServer server(path);
  EXPECT_EQ(server.path(), path);
  EXPECT_TRUE(is_socket_file(path));
  UnixSocket client = UnixSocket::connect(path, 10s);
  expect_talks(server, client);
}

TEST(UnixServer, ReplacesADeadSocketFile) {
  TempDir dir;
  const std::string path = dir.file("stale.sock");
  {
    Socket dead(AF_UNIX, SOCK_STREAM);
    dead.bind(Address::unix_path(path));
  }  // closed: the file stays behind and nobody listens on it
  ASSERT_TRUE(is_socket_file(path));
  UnixServer server(path);
  UnixSocket client = UnixSocket::connect(path, 10s);
  expect_talks(server, client);
}

TEST(UnixServer, LiveSocketIsLeftToItsServer) {
  TempDir dir;
  const std::string path = dir.file("live.sock");
  UnixServer first(path);
  try {
    UnixServer second(path);
    FAIL() << "a second server took a live socket path";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errno_code(EADDRINUSE));
    EXPECT_EQ(std::string(error.what()), "bind " + path + ": Address already in use");
  }
  // The probe that found the server alive shows up there as a connection closed at once.
  UnixAccepted probe = first.accept(10s);
  std::array<char, 8> buffer{};
  EXPECT_EQ(probe.socket.recv(buffer), 0U);
  // The first server still owns its path: new clients reach it.
  UnixSocket client = UnixSocket::connect(path, 10s);
  expect_talks(first, client);
}

TEST(UnixServer, NeverDeletesARegularFile) {
  TempDir dir;
  const std::string path = dir.file("precious.txt");
  {
    std::ofstream out(path);
    out << "precious data\n";
  }
  try {
    UnixServer server(path);
    FAIL() << "bound over a regular file";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errno_code(EADDRINUSE));
    EXPECT_EQ(std::string(error.what()).rfind("bind " + path + ": Address already in use", 0), 0U)
        << error.what();
  }
  ASSERT_TRUE(std::filesystem::is_regular_file(path));
  EXPECT_EQ(read_file(path), "precious data\n");
}

TEST(UnixServer, NeverDeletesADirectory) {
  TempDir dir;
  const std::string path = dir.file("a-directory");
  std::filesystem::create_directory(path);
  EXPECT_THROW(UnixServer server(path), Error);
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(UnixServer, RemovesItsFileOnDestruction) {
  TempDir dir;
  const std::string path = dir.file("gone.sock");
  { UnixServer server(path); }
  EXPECT_FALSE(std::filesystem::exists(path));

  UnixServerOptions keep;
  keep.unlink_on_close = false;
  { UnixServer server(path, keep); }
  EXPECT_TRUE(is_socket_file(path));
}

TEST(UnixServer, LeavesAFileThatIsNoLongerItsOwn) {
  TempDir dir;
  const std::string path = dir.file("replaced.sock");
  {
    UnixServer server(path);
    std::filesystem::remove(path);
    std::ofstream(path) << "someone else's";
  }
  EXPECT_EQ(read_file(path), "someone else's");
}

TEST(UnixServer, MovedServerRemovesTheFileOnce) {
  TempDir dir;
  const std::string path = dir.file("moved.sock");
  {
    UnixServer outer;
    {
      UnixServer inner(path);
      outer = std::move(inner);
    }  // the moved-from server must not remove the file
    EXPECT_TRUE(is_socket_file(path));
    UnixSocket client = UnixSocket::connect(path, 10s);
    expect_talks(outer, client);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(UnixServer, AbstractNameRoundTrip) {
  const Address address = Address::unix_abstract(unique_abstract_name());
  UnixServer server(address);
  EXPECT_TRUE(server.address().is_abstract());
  UnixSocket client = UnixSocket::connect(address, 10s);
  expect_talks(server, client);
}

TEST(UnixSocket, ConnectToMissingPathNamesIt) {
  TempDir dir;
  const std::string path = dir.file("nobody.sock");
  try {
    (void)UnixSocket::connect(path, 10s);
    FAIL() << "connected to a missing path";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), "connect " + path + ": No such file or directory");
  }
}

TEST(UnixSocketPair, StreamBothWays) {
  auto [left, right] = unix_socketpair();
  left.send("to right");
  EXPECT_EQ(receive_text(right, 8), "to right");
  right.send("to left");
  EXPECT_EQ(receive_text(left, 7), "to left");
  left.close_write();
  std::array<char, 8> buffer{};
  EXPECT_EQ(right.recv(buffer), 0U);
}

TEST(UnixSocketPair, DatagramsKeepTheirBoundaries) {
  auto [left, right] = unix_socketpair(SOCK_DGRAM);
  left.send("one");
  left.send("two");
  std::array<char, 16> buffer{};
  EXPECT_EQ(std::string(buffer.data(), right.recv(buffer)), "one");
  EXPECT_EQ(std::string(buffer.data(), right.recv(buffer)), "two");
}

TEST(FdPassing, PipeReadEndTravelsAndWorks) {
  auto [sender, receiver] = unix_socketpair();
  std::array<int, 2> ends{};
  ASSERT_EQ(::pipe2(ends.data(), O_CLOEXEC), 0);
  FileDescriptor read_end(ends[0]);
  FileDescriptor write_end(ends[1]);

  sender.send_fd(read_end.get());
  read_end.reset();  // the receiver's copy must keep the pipe open on its own
  FileDescriptor received = receiver.recv_fd(10s);
  ASSERT_TRUE(received);
  EXPECT_NE(::fcntl(received.get(), F_GETFD) & FD_CLOEXEC, 0);

  ASSERT_EQ(::write(write_end.get(), "through the pipe", 16), 16);
  std::array<char, 32> buffer{};
  ASSERT_EQ(::read(received.get(), buffer.data(), buffer.size()), 16);
  EXPECT_EQ(std::string(buffer.data(), 16), "through the pipe");
}

TEST(FdPassing, ASocketTravelsTheOtherWay) {
  auto [left, right] = unix_socketpair();
  auto [kept, passed] = unix_socketpair();

  right.send_fd(passed.fd(), "meta");  // the reverse direction of the pipe test
  passed.close();
  ReceivedDescriptor received = left.recv_fd_with_data(16, 10s);
  EXPECT_EQ(received.data, "meta");
  Socket adopted = Socket::adopt(received.fd.release());

  adopted.send("via passed socket");
  EXPECT_EQ(receive_text(kept, 17), "via passed socket");
  kept.send("back");
  EXPECT_EQ(receive_text(adopted, 4), "back");
}

TEST(FdPassing, PlainDataAndEndOfStreamAreErrors) {
  auto [left, right] = unix_socketpair();
  left.send("x");
  try {
    (void)right.recv_fd(10s);
    FAIL() << "a descriptor came out of plain data";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errc::not_found);
  }
  left.close();
  try {
    (void)right.recv_fd(10s);
    FAIL() << "a descriptor came out of a closed stream";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), errc::connection_closed);
  }
}

TEST(FdPassing, ReceiveTimesOut) {
  auto [left, right] = unix_socketpair();
  try {
    (void)right.recv_fd(50ms);
    FAIL() << "received a descriptor nobody sent";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), std::errc::timed_out);
  }
}

TEST(PeerCredentials, AreThisProcess) {
  auto [left, right] = unix_socketpair();
  PeerCredentials pair = right.peer_credentials();
  EXPECT_EQ(pair.pid, ::getpid());
  EXPECT_EQ(pair.uid, ::getuid());
  EXPECT_EQ(pair.gid, ::getgid());

  TempDir dir;
  UnixServer server(dir.file("cred.sock"));
  UnixSocket client = UnixSocket::connect(server.path(), 10s);
  UnixAccepted accepted = server.accept(10s);
  PeerCredentials seen_by_server = accepted.socket.peer_credentials();
  EXPECT_EQ(seen_by_server.pid, ::getpid());
  EXPECT_EQ(seen_by_server.uid, ::getuid());
  EXPECT_EQ(seen_by_server.gid, ::getgid());
  EXPECT_EQ(client.peer_credentials().pid, ::getpid());
}

}  // namespace
}  // namespace sockit
