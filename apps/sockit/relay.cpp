#include "relay.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cli_support.hpp"
#include "sockit/error.hpp"
#include "sockit/tls/tls_error.hpp"

namespace sockit::cli {
namespace {

constexpr short readable_events = POLLIN | POLLHUP | POLLERR | POLLNVAL;

// read(2) on stdin: bytes read, 0 at end of input. A closed descriptor counts as the end.
std::size_t read_input(int fd, std::vector<char>& buffer) {
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EBADF) return 0;
    failure(std::string("read stdin: ") + std::strerror(errno));
  }
}

int poll_loop(pollfd* fds, nfds_t count, int timeout_ms) {
  int n = ::poll(fds, count, timeout_ms);
  if (n < 0 && errno != EINTR) failure(std::string("poll: ") + std::strerror(errno));
  return n < 0 ? 0 : n;
}

// The peer has closed its side, but may still read: input that is already waiting (a
// pipe filled before the connection came) goes out before the exit, so `echo reply | sockit
// listen` answers even a client that sends and half-closes at once. Best effort: the peer
// may be gone entirely, and then nothing more can be done about it.
void pass_on_waiting_input(Transport& transport, int in_fd, bool input_open,
                           std::vector<char>& buffer, std::size_t begin, std::size_t end) {
  try {
    if (begin == end && input_open) {
      pollfd input{in_fd, POLLIN, 0};
      if (::poll(&input, 1, 0) != 1 || (input.revents & POLLIN) == 0) return;
      ssize_t n = ::read(in_fd, buffer.data(), buffer.size());
      if (n <= 0) return;
      begin = 0;
      end = static_cast<std::size_t>(n);
    }
    while (begin < end) {
      IoResult r = transport.write_some(std::string_view(buffer.data() + begin, end - begin));
      if (r.ok()) {
        begin += r.bytes;
      } else if (!transport.wait(Direction::write, std::chrono::seconds(1))) {
        return;
      }
    }
  } catch (const Error&) {
  }
}

// A TLS peer that closes without close_notify may have been cut short: an error while we
// still had things to say, but only a warning once we have sent our own EOF, because
// servers commonly close right after answering it (nginx does).
IoResult read_down(Transport& transport, std::vector<char>& down, bool sent_eof) {
  try {
    return transport.read_some(down);
  } catch (const Error& e) {
    if (!sent_eof || e.code() != make_error_code(tls_errc::closed_without_notify)) throw;
    std::fprintf(stderr, "sockit: warning: %s\n", e.what());
    return {IoStatus::eof, 0};
  }
}

}  // namespace

void write_fd(int fd, std::string_view bytes, std::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      failure(std::string(what) + ": " + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void relay_stream(Transport& transport, int in_fd, int out_fd) {
  std::vector<char> up(relay_buffer_size);
  std::vector<char> down(relay_buffer_size);
  std::size_t up_begin = 0, up_end = 0;  // stdin bytes not yet sent
  bool input_open = true;
  bool sent_eof = false;

  while (true) {
    bool pending = up_begin < up_end;
    pollfd fds[2] = {
        {in_fd, static_cast<short>(input_open && !pending ? POLLIN : 0), 0},
        {transport.fd(), static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0},
    };
    // Only poll stdin while it can be read into the buffer; otherwise its hang-up would
    // wake the loop forever.
    nfds_t count = 2;
    pollfd* first = fds;
    if (!(input_open && !pending)) {
      first = fds + 1;
      count = 1;
    }
    if (poll_loop(first, count, -1) == 0) continue;

    if (fds[1].revents & readable_events) {
      // Drain what is there (a TLS transport may hold more than the socket shows).
      while (true) {
        IoResult r = read_down(transport, down, sent_eof);
        if (r.would_block()) break;
        if (r.eof()) {
          pass_on_waiting_input(transport, in_fd, input_open, up, up_begin, up_end);
          return;
        }
        write_fd(out_fd, std::string_view(down.data(), r.bytes));
      }
    }
    if (pending && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      IoResult r = transport.write_some(std::string_view(up.data() + up_begin, up_end - up_begin));
      if (r.ok()) up_begin += r.bytes;
    }
    if (count == 2 && (fds[0].revents & readable_events)) {
      std::size_t n = read_input(in_fd, up);
      if (n == 0) {
        input_open = false;
      } else {
        up_begin = 0;
        up_end = n;
        IoResult r = transport.write_some(std::string_view(up.data(), n));
        if (r.ok()) up_begin += r.bytes;
      }
    }
    if (!input_open && up_begin == up_end && !sent_eof) {
      transport.close_write();
      sent_eof = true;
    }
  }
}

void relay_datagrams(Socket& socket, std::chrono::milliseconds quiet, int in_fd, int out_fd) {
  std::vector<char> up(relay_buffer_size);
  std::vector<char> down(relay_buffer_size);
  bool input_open = true;
  auto last_activity = Clock::now();

  while (true) {
    int timeout_ms = -1;
    if (!input_open && quiet.count() > 0) {
      auto left =
          std::chrono::ceil<std::chrono::milliseconds>(last_activity + quiet - Clock::now());
      if (left.count() <= 0) return;
      timeout_ms = static_cast<int>(left.count());
    }
    pollfd fds[2] = {{socket.fd(), POLLIN, 0}, {in_fd, POLLIN, 0}};
    if (poll_loop(fds, input_open ? 2 : 1, timeout_ms) == 0) continue;

    if (fds[0].revents & readable_events) {
      while (true) {
        IoResult r = socket.read_nonblock(down);
        if (!r.ok()) break;  // would_block (eof has no meaning for datagrams)
        write_fd(out_fd, std::string_view(down.data(), r.bytes));
        last_activity = Clock::now();
      }
    }
    if (input_open && (fds[1].revents & readable_events)) {
      std::size_t n = read_input(in_fd, up);
      if (n == 0) {
        input_open = false;
      } else {
        socket.send(std::string_view(up.data(), n));
      }
      last_activity = Clock::now();
    }
  }
}

}  // namespace sockit::cli
