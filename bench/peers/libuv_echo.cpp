// Echo on libuv: one loop, reads into one shared 64 KiB buffer (alloc_cb hands out the same
// buffer, which read_cb has finished with before the next read), uv_try_write straight
// back, and a copied uv_write only for what the socket would not take.
#include <uv.h>

#include <cstdlib>
#include <cstring>

#include "peer_common.hpp"

namespace {

char shared_buffer[64 * 1024];

struct PendingWrite {
  uv_write_t request;
  char data[1];  // allocated larger
};

void on_close(uv_handle_t* handle) {
  std::free(handle);
}

void on_written(uv_write_t* request, int) {
  std::free(request);
}

void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buffer) {
  *buffer = uv_buf_init(shared_buffer, sizeof shared_buffer);
}

void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t* buffer) {
  if (n < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(stream), on_close);
    return;
  }
  if (n == 0) return;
  uv_buf_t out = uv_buf_init(buffer->base, static_cast<unsigned>(n));
  int written = uv_try_write(stream, &out, 1);
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(stream), on_close);
    return;
  }
  if (written < n) {
    const std::size_t rest = static_cast<std::size_t>(n - written);
    auto* pending = static_cast<PendingWrite*>(std::malloc(sizeof(PendingWrite) + rest));
    std::memcpy(pending->data, buffer->base + written, rest);
    uv_buf_t tail = uv_buf_init(pending->data, static_cast<unsigned>(rest));
    uv_write(&pending->request, stream, &tail, 1, on_written);
  }
}

void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* client = static_cast<uv_tcp_t*>(std::malloc(sizeof(uv_tcp_t)));
  uv_tcp_init(server->loop, client);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(client), on_close);
    return;
  }
  uv_read_start(reinterpret_cast<uv_stream_t*>(client), on_alloc, on_read);
}

void on_signal(uv_signal_t* handle, int) {
  uv_stop(handle->loop);
}

}  // namespace

int main(int argc, char** argv) {
  const peer::Args args = peer::parse(argc, argv, "libuv_echo");
  uv_loop_t* loop = uv_default_loop();
  const int fd = peer::listen_on(args, "libuv_echo", SOCK_NONBLOCK);
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  if (uv_tcp_open(&server, fd) != 0) peer::die("libuv_echo", "uv_tcp_open");
  if (uv_listen(reinterpret_cast<uv_stream_t*>(&server), SOMAXCONN, on_connection) != 0) {
    peer::die("libuv_echo", "uv_listen");
  }
  peer::announce(fd, args, "libuv_echo");
  uv_signal_t term, interrupt;
  uv_signal_init(loop, &term);
  uv_signal_start(&term, on_signal, SIGTERM);
  uv_signal_init(loop, &interrupt);
  uv_signal_start(&interrupt, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
