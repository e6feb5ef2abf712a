// Mirrors TimeoutSocket from "Timeout Management" in "Socket Programming Concepts":
//   Timeout.timeout(@timeout) { @socket = TCPSocket.new(host, port) }
//   timeval = [@timeout, 0].pack('l_2')
//   @socket.setsockopt(Socket::SOL_SOCKET, Socket::SO_RCVTIMEO, timeval)   # and SO_SNDTIMEO
//   def read_with_timeout(length)
//     Timeout.timeout(@timeout) { @socket.read(length) }
//   rescue Timeout::Error then raise "Read timeout after #{@timeout} seconds" end
// Usage: timeout_socket [HOST [PORT]] [--timeout SECONDS] [--read LENGTH]
//        (default 127.0.0.1 7777, 10 seconds, 1024 bytes)
// Prints what it read (read(length): up to LENGTH bytes, less at end of stream), or the
// seed's "Read timeout after N seconds" on stderr with exit status 1. The deadlines are
// poll-based (no signals, unlike Ruby's Timeout); the socket options are set as the seed does.
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>

#include "example_support.hpp"
#include "sockit/error.hpp"
#include "sockit/options.hpp"
#include "sockit/stream.hpp"
#include "sockit/tcp.hpp"

namespace {

bool is_timeout(const sockit::Error& e) {
  return e.code() == std::errc::timed_out || e.code() == sockit::errc::timed_out;
}

class TimeoutSocket {
 public:
  // `label` is the timeout as the user wrote it, for the messages ("10", "0.5").
  TimeoutSocket(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                std::string label)
      : timeout_(timeout), label_(std::move(label)), socket_(connect(host, port, timeout)) {
    // Socket-level timeouts, as the seed sets them; the Stream's deadlines below are what
    // bounds the reads and writes, whatever these options say.
    socket_.set(sockit::option::ReceiveTimeout{timeout});
    socket_.set(sockit::option::SendTimeout{timeout});
  }

  // Up to `length` bytes, fewer when the peer closes first; one deadline for the whole read.
  std::string read_with_timeout(std::size_t length) {
    const sockit::Deadline deadline(timeout_);
    std::string data;
    try {
      while (data.size() < length) {
        auto chunk = stream_.read_some(length - data.size(), deadline);
        if (chunk.empty()) break;
        data += chunk;
      }
    } catch (const sockit::Error& e) {
      if (is_timeout(e)) throw std::runtime_error("Read timeout after " + label_ + " seconds");
      throw;
    }
    return data;
  }

  void write_with_timeout(std::string_view data) {
    try {
      stream_.write_all(data, timeout_);
    } catch (const sockit::Error& e) {
      if (is_timeout(e)) throw std::runtime_error("Write timeout after " + label_ + " seconds");
      throw;
    }
  }

  void close() { socket_.close(); }

 private:
  // TCPSocket.new inside Timeout.timeout: the connect itself is bounded.
  static sockit::TcpSocket connect(const std::string& host, std::uint16_t port,
                                   std::chrono::milliseconds timeout) {
    sockit::ConnectOptions options;
    options.timeout = timeout;
    return sockit::TcpSocket::connect(host, port, options);
  }

  std::chrono::milliseconds timeout_;
  std::string label_;
  sockit::TcpSocket socket_;
  sockit::Stream stream_{socket_};
};

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  const auto label = args.flag("timeout").value_or("10");
  const auto seconds = std::stod(label);
  if (!(seconds > 0)) throw std::invalid_argument("--timeout must be positive: " + label);
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  const auto length = std::stoul(args.flag("read").value_or("1024"));

  TimeoutSocket socket(args.get("host", 0, "127.0.0.1"), args.port(1, 7777), timeout, label);
  std::cout << socket.read_with_timeout(length) << std::flush;
  socket.close();
} catch (const std::exception& e) {
  return example::report("timeout_socket", e);
}
