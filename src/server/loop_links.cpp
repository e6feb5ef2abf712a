// The service's links on an event loop (see loop_links.hpp).
#include "loop_links.hpp"

#include <algorithm>
#include <exception>
#include <string_view>
#include <system_error>
#include <utility>

#include "loop_connection.hpp"

namespace sockit::server::detail {

// The link's own session, told by this wrapper when it opens and when it ends.
class LoopLinks::LinkSession final : public Session {
 public:
  LinkSession(LoopLinks& keeper, Link& link, std::unique_ptr<Session> inner)
      : keeper_(keeper), link_(link), inner_(std::move(inner)) {}

  void on_open(Output& out) override {
    keeper_.opened(link_);
    inner_->on_open(out);
  }
  void on_data(std::string_view bytes, Output& out) override { inner_->on_data(bytes, out); }
  void on_eof(Output& out) override { inner_->on_eof(out); }
  void on_timer(TimerId id, Output& out) override { inner_->on_timer(id, out); }
  void on_drain(Output& out) override { inner_->on_drain(out); }
  void on_connect_failed(const std::error_code& error, std::string_view reason) override {
    link_.reason = reason;
    inner_->on_connect_failed(error, reason);
  }
  void on_close() override {
    // The keeper hears of the end even when the inner session throws.
    struct Ended {
      LoopLinks& keeper;
      Link& link;
      ~Ended() { keeper.ended(link); }
    } ended{keeper_, link_};
    inner_->on_close();
  }

 private:
  LoopLinks& keeper_;
  Link& link_;
  std::unique_ptr<Session> inner_;
};

void LoopLinks::start() {
  if (!loop_.settings.keeps_links) return;
  for (auto& link : loop_.rt.service.links()) {
    if (!link) continue;
    auto kept = std::make_unique<Link>();
    kept->name = link->describe();
    kept->link = std::move(link);
    links_.push_back(std::move(kept));
  }
  for (auto& link : links_)
    dial(*link);
}

void LoopLinks::expire() {
  for (auto& link : links_) {
    if (link->redial_at && *link->redial_at <= loop_.now) {
      link->redial_at.reset();
      dial(*link);
    }
  }
}

std::optional<Clock::time_point> LoopLinks::next_redial() const noexcept {
  std::optional<Clock::time_point> next;
  for (const auto& link : links_) {
    if (link->redial_at && (!next || *link->redial_at < *next)) next = link->redial_at;
  }
  return next;
}

void LoopLinks::dial(Link& link) noexcept {
  if (loop_.draining) return;
  link.reason.clear();
  try {
    auto session = std::make_unique<LinkSession>(*this, link, link.link->open());
    LoopConnection& c = loop_.slots.allocate(loop_);
    c.dial(link.link->target(), std::move(session));
    c.keep_for_service();
  } catch (const std::exception& e) {
    // Out of memory, or the link could not make a session: tried again after the backoff.
    link.reason = e.what();
    ended(link);
  }
}

void LoopLinks::opened(Link& link) noexcept {
  link.backoff = kFirstBackoff;
  try {
    if (link.down) {
      loop_.rt.log.info(link.name + ": connected again");
    } else if (loop_.info_enabled()) {
      loop_.rt.log.info(link.name + ": connected");
    }
  } catch (...) {
  }
  link.down = false;
}

void LoopLinks::ended(Link& link) noexcept {
  if (loop_.draining) return;
  try {
    if (!link.down) {
      link.down = true;
      loop_.rt.log.error(link.name + ": " +
                         (link.reason.empty() ? std::string("connection lost") : link.reason) +
                         "; reconnecting with backoff (logged again once connected)");
    }
  } catch (...) {
  }
  link.redial_at = loop_.now + link.backoff;
  link.backoff = std::min(link.backoff * 2, kMaxBackoff);
}

}  // namespace sockit::server::detail
