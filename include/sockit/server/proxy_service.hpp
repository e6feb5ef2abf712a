// sockit::server::ProxyService: a TCP forwarder written on the coroutine API. Each client
// connection is piped to an upstream picked round-robin from a list (one that cannot be
// reached is skipped), both ways, with half-close carried through and back-pressure on
// both sides: a side that does not read stops the other side being read, so memory stays
// bounded by two buffers per direction. `sockit proxy` runs it on any architecture.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sockit/server/async_stream.hpp"
#include "sockit/server/session.hpp"

namespace sockit::server {

struct Upstream {
  std::string host;
  std::string port;
};

struct ProxyOptions {
  std::vector<Upstream> upstreams;  // tried round-robin; at least one
  // For resolving and connecting to one upstream, every address it has.
  std::chrono::milliseconds connect_timeout{5'000};
  // Decorates each upstream connection's session (TLS origination:
  // sockit::tls_client_session); empty: plain TCP.
  AsyncStream::SessionWrapper wrap_upstream;
  // Bytes one direction moves per read.
  std::size_t chunk = 16 * 1024;
  // 1 or 2: each upstream connection starts with a PROXY protocol header of that version
  // naming the client and the address it connected to (HAProxy's send-proxy and
  // send-proxy-v2), so the upstream sees the client rather than the proxy. 0: none.
  int send_proxy = 0;
  // Receives "proxy: no upstream reachable; closing the client" when every upstream failed
  // (the server logs each failed connect itself); empty: the server log.
  std::function<void(std::string_view)> log;
};

// Throws std::invalid_argument when `options.upstreams` is empty or send_proxy is not 0, 1
// or 2.
std::shared_ptr<Service> make_proxy_service(ProxyOptions options);

// "HOST:PORT" or "[IPv6]:PORT" as an Upstream; std::invalid_argument when malformed.
Upstream parse_upstream(const std::string& text);

}  // namespace sockit::server
