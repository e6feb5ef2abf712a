// The PROXY protocol in front of any service (see proxy_protocol_service.hpp): a session
// that holds the connection's first bytes until they make a header, then hands the
// connection, with the client's address, to the inner service's session.
#include "sockit/server/proxy_protocol_service.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "runtime.hpp"
#include "sockit/proxy_protocol.hpp"
#include "sockit/server/blocking_service.hpp"

namespace sockit::server {

struct ProxyProtocolService::Shared {
  Shared(std::shared_ptr<Service> i, ProxyProtocolOptions o, Log l)
      : inner(std::move(i)),
        options(std::move(o)),
        log(std::move(l)),
        clients(0, options.max_connections_per_ip) {}
  std::shared_ptr<Service> inner;
  ProxyProtocolOptions options;
  Log log;
  // The server's own gate, counting the clients the headers name.
  mutable detail::ConnectionGate clients;
};

namespace {

class ProxyHeaderSession final : public Session {
 public:
  ProxyHeaderSession(std::shared_ptr<const ProxyProtocolService::Shared> shared,
                     const ConnectionInfo& connection)
      : shared_(std::move(shared)), options_(shared_->options), connection_(connection) {}

  void on_open(Output& out) override {
    if (!contains_any(options_.trusted, connection_.peer)) {
      refuse(out, "not a trusted proxy (see --proxy-from)");
      return;
    }
    if (options_.timeout.count() > 0) timer_ = out.start_timer(options_.timeout);
  }

  void on_data(std::string_view bytes, Output& out) override {
    if (inner_) {
      inner_->on_data(bytes, out);
      return;
    }
    if (refused_) return;
    // The parser refuses anything longer than a header can be, so this stays bounded.
    held_.append(bytes);
    ProxyParse parsed = parse_proxy_header(held_);
    if (parsed.status == ProxyParse::Status::incomplete) return;
    if (parsed.status == ProxyParse::Status::invalid) {
      refuse(out, parsed.error);
      return;
    }
    const std::string rest = held_.substr(parsed.size);
    held_.clear();
    held_.shrink_to_fit();
    if (!start(parsed.header, out) || rest.empty() || out.closing()) return;
    inner_->on_data(rest, out);
  }

  void on_eof(Output& out) override {
    if (inner_) {
      inner_->on_eof(out);
      return;
    }
    if (!refused_ && !held_.empty()) refuse(out, "closed in the middle of its PROXY header");
    out.close();
  }

  void on_timer(TimerId id, Output& out) override {
    if (inner_) {
      inner_->on_timer(id, out);
    } else if (id == timer_ && !refused_) {
      refuse(out, "no PROXY header within " + std::to_string(options_.timeout.count()) + " ms");
    }
  }

  void on_drain(Output& out) override {
    if (inner_) inner_->on_drain(out);
  }

  void on_connect_failed(const std::error_code& error, std::string_view reason) override {
    if (inner_) inner_->on_connect_failed(error, reason);
  }

  void on_close() override {
    if (inner_) inner_->on_close();
  }

 private:
  void say(const std::string& line) const {
    if (shared_->log) shared_->log(line);
  }

  void refuse(Output& out, const std::string& why) {
    refused_ = true;
    say("closing " + connection_.peer.to_string() + ": " + why);
    out.close();
  }

  // Opens the inner session for the client the header names; false when it is refused.
  bool start(const ProxyHeader& header, Output& out) {
    if (timer_ != 0) out.cancel_timer(timer_);
    ConnectionInfo info = connection_;
    if (header.proxied) {
      info.peer = header.source;
      info.local = header.destination;
      say("proxied connection from " + info.peer.to_string() + " via " +
          connection_.peer.to_string());
      if (options_.max_connections_per_ip > 0) {
        std::string reason;
        ticket_ = shared_->clients.admit(info.peer, &reason);
        if (!ticket_) {
          refused_ = true;
          say("closing " + info.peer.to_string() + " (via " + connection_.peer.to_string() +
              "): " + reason);
          out.write(shared_->inner->full_message());
          out.close();
          return false;
        }
      }
    }
    inner_ = shared_->inner->open(info);
    inner_->on_open(out);
    return true;
  }

  std::shared_ptr<const ProxyProtocolService::Shared> shared_;
  const ProxyProtocolOptions& options_;
  ConnectionInfo connection_;
  std::string held_;
  TimerId timer_ = 0;
  bool refused_ = false;
  detail::ConnectionGate::Ticket ticket_;
  std::unique_ptr<Session> inner_;
};

}  // namespace

ProxyProtocolService::ProxyProtocolService(std::shared_ptr<Service> inner,
                                           ProxyProtocolOptions options, Log log)
    : inner_(std::move(inner)),
      shared_(std::make_shared<Shared>(inner_, std::move(options), std::move(log))) {
  if (!inner_) throw std::invalid_argument("proxy protocol: no service to wrap");
  if (dynamic_cast<BlockingService*>(inner_.get()) != nullptr) {
    throw std::invalid_argument("service '" + std::string(inner_->name()) +
                                "' reads its socket itself and cannot take a PROXY header");
  }
}

std::unique_ptr<Session> ProxyProtocolService::open(const ConnectionInfo& connection) {
  return std::make_unique<ProxyHeaderSession>(shared_, connection);
}

}  // namespace sockit::server
