// Echo on libevent's core loop: an evconnlistener accepts, each connection gets one
// persistent read event; reads go into one shared 64 KiB buffer and straight back with
// send(2). Only output the socket would not take goes to an evbuffer, drained by a write
// event, while reading pauses. (bufferevents would copy every message through evbuffer
// chains, an allocation per message this loop avoids.)
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include "peer_common.hpp"

namespace {

char shared_buffer[64 * 1024];

struct Connection {
  evutil_socket_t fd;
  event* read_event;
  event* write_event;
  evbuffer* pending;
};

void close_connection(Connection* c) {
  event_free(c->read_event);
  event_free(c->write_event);
  evbuffer_free(c->pending);
  ::close(c->fd);
  delete c;
}

void on_writable(evutil_socket_t, short, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  if (evbuffer_write(c->pending, c->fd) < 0 && errno != EAGAIN) {
    close_connection(c);
    return;
  }
  if (evbuffer_get_length(c->pending) == 0) {
    event_del(c->write_event);
    event_add(c->read_event, nullptr);
  }
}

void on_readable(evutil_socket_t fd, short, void* arg) {
  auto* c = static_cast<Connection*>(arg);
  ssize_t n = ::recv(fd, shared_buffer, sizeof shared_buffer, 0);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    close_connection(c);
    return;
  }
  ssize_t written = ::send(fd, shared_buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL);
  if (written < 0) {
    if (errno != EAGAIN) {
      close_connection(c);
      return;
    }
    written = 0;
  }
  if (written < n) {
    evbuffer_add(c->pending, shared_buffer + written, static_cast<std::size_t>(n - written));
    event_del(c->read_event);
    event_add(c->write_event, nullptr);
  }
}

void on_accept(evconnlistener* listener, evutil_socket_t fd, sockaddr*, int, void*) {
  event_base* base = evconnlistener_get_base(listener);
  evutil_make_socket_nonblocking(fd);
  auto* c = new Connection{fd, nullptr, nullptr, evbuffer_new()};
  c->read_event = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, c);
  c->write_event = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
  event_add(c->read_event, nullptr);
}

void on_signal(evutil_socket_t, short, void* arg) {
  event_base_loopbreak(static_cast<event_base*>(arg));
}

}  // namespace

int main(int argc, char** argv) {
  const peer::Args args = peer::parse(argc, argv, "libevent_echo");
  std::signal(SIGPIPE, SIG_IGN);
  event_base* base = event_base_new();
  const int fd = peer::listen_on(args, "libevent_echo", SOCK_NONBLOCK);
  evconnlistener* listener =
      evconnlistener_new(base, on_accept, nullptr, LEV_OPT_CLOSE_ON_FREE, -1, fd);
  if (listener == nullptr) peer::die("libevent_echo", "evconnlistener_new");
  peer::announce(fd, args, "libevent_echo");
  event* term = evsignal_new(base, SIGTERM, on_signal, base);
  event* interrupt = evsignal_new(base, SIGINT, on_signal, base);
  event_add(term, nullptr);
  event_add(interrupt, nullptr);
  event_base_dispatch(base);
  event_free(term);
  event_free(interrupt);
  evconnlistener_free(listener);
  event_base_free(base);
  return 0;
}
