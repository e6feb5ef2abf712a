// Internal: the Output of one channel of a blocking connection (the accepted socket or an
// outbound connection it opened). Bytes wait here until the read loop flushes them; the
// runtime requests (timers, off-loop work, outbound connects, peers) go to the connection
// that owns the channel, through ChannelHost.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sockit/server/session.hpp"

namespace sockit::server::detail {

// What a channel's Output asks of its connection; `channel` names the asking channel.
class ChannelHost {
 public:
  virtual std::shared_ptr<Peer> peer_of(std::uint64_t channel) = 0;
  virtual TimerId start_timer(std::uint64_t channel, std::chrono::milliseconds after) = 0;
  virtual bool cancel_timer(TimerId id) noexcept = 0;
  virtual bool run_off_loop(std::uint64_t channel, OffLoopWork work) = 0;
  virtual void connect(OutboundRequest request, std::unique_ptr<Session> session) = 0;

 protected:
  ~ChannelHost() = default;
};

class BufferedOutput final : public Output {
 public:
  BufferedOutput(ChannelHost& host, std::uint64_t channel) noexcept
      : host_(host), channel_(channel) {}

  void write(std::string_view bytes) override {
    if (!closing_) pending_.append(bytes);
  }
  void close() override { closing_ = true; }
  bool closing() const noexcept override { return closing_; }
  std::shared_ptr<Peer> peer() override;

  std::size_t queued() const noexcept override { return pending_.size(); }
  void set_reading(bool on) override { reading_ = on; }
  TimerId start_timer(std::chrono::milliseconds after) override;
  bool cancel_timer(TimerId id) noexcept override;
  bool run_off_loop(OffLoopWork work) override;
  void connect(OutboundRequest request, std::unique_ptr<Session> session) override;

  std::string& pending() noexcept { return pending_; }
  bool reading() const noexcept { return reading_; }

 private:
  ChannelHost& host_;
  const std::uint64_t channel_;
  std::string pending_;
  bool closing_ = false;
  bool reading_ = true;
};

}  // namespace sockit::server::detail
