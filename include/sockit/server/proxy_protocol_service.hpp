// ProxyProtocolService: serves any Service behind a load balancer that speaks the PROXY
// protocol (HAProxy's send-proxy / send-proxy-v2), on every architecture. Each connection's
// first bytes must be a PROXY header (version 1 or 2) from a trusted peer; the inner
// session is opened only then, with the client's address from the header as its peer, so
// the protocol, its logs and its per-client limits see the client and not the balancer.
// A missing, malformed, untrusted or late header closes the connection with a log line.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "sockit/address_range.hpp"
#include "sockit/server/session.hpp"

namespace sockit::server {

struct ProxyProtocolOptions {
  // Peers that may send a header: the balancers. Anyone else is closed at once.
  std::vector<AddressRange> trusted = AddressRange::loopback();
  // The whole header must arrive within this (0: no deadline of its own).
  std::chrono::milliseconds timeout{10'000};
  // Open connections per client address, as the header gives it (0: no limit). The
  // server's own per-address limit would count the balancer's address instead.
  std::size_t max_connections_per_ip = 0;
};

class ProxyProtocolService final : public Service {
 public:
  // Receives one line per refused connection ("closing 127.0.0.1:40022: PROXY v1 header:
  // bad port") and per accepted one ("proxied connection from 203.0.113.7:5555 via
  // 127.0.0.1:40022").
  using Log = std::function<void(std::string_view message)>;

  // Throws std::invalid_argument for no service, or one that cannot be wrapped (a
  // BlockingService reads its socket itself, so the header would reach it).
  ProxyProtocolService(std::shared_ptr<Service> inner, ProxyProtocolOptions options, Log log = {});

  std::string_view name() const override { return inner_->name(); }
  std::uint16_t default_port() const override { return inner_->default_port(); }
  bool needs_shared_state() const override { return inner_->needs_shared_state(); }
  std::vector<std::shared_ptr<ServiceLink>> links() const override { return inner_->links(); }
  bool needs_concurrency() const override { return inner_->needs_concurrency(); }
  std::string_view full_message() const override { return inner_->full_message(); }
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override;

  // What every session of this service shares: the options, the log and the per-client
  // connection counts. Sessions hold it, so it outlives the service if they do.
  struct Shared;

 private:
  std::shared_ptr<Service> inner_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace sockit::server
