// The netcat core shared by `sockit connect` and `sockit listen`: stdin to a socket and the
// socket to stdout, both at once, with one poll(2) loop and 64 KiB buffers (no threads).
// Stream mode half-closes (SHUT_WR) when stdin ends and returns when the peer closes.
#pragma once

#include <chrono>
#include <string_view>

#include "sockit/socket.hpp"
#include "sockit/stream.hpp"

namespace sockit::cli {

inline constexpr std::size_t relay_buffer_size = 64 * 1024;

// Relays until the peer closes its side (returns normally) or an I/O error (throws
// sockit::Error, or CliError for stdin/stdout). Any Transport works: plain sockets through
// SocketTransport, TLS through its own transport.
void relay_stream(Transport& transport, int in_fd = 0, int out_fd = 1);

// For a connected datagram socket: each read from stdin goes out as one datagram, each
// datagram received is written to stdout. After stdin ends, returns once `quiet` passes
// without a datagram; quiet == 0 keeps receiving until killed.
void relay_datagrams(Socket& socket, std::chrono::milliseconds quiet, int in_fd = 0,
                     int out_fd = 1);

// Writes all of `bytes` to a descriptor (stdout), retrying on EINTR and short writes.
void write_fd(int fd, std::string_view bytes, std::string_view what = "write stdout");

}  // namespace sockit::cli
