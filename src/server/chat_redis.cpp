// The chat room's links to Redis (see chat_redis.hpp).
#include "chat_redis.hpp"

#include <charconv>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <utility>

#include "sockit/resp.hpp"

namespace sockit::server::detail {
namespace {

// Messages on the channel are chat lines: a bulk string past this is no line of ours.
RespLimits chat_limits() {
  RespLimits limits;
  limits.max_bulk = 256 * 1024;
  limits.max_items = 8;
  limits.max_depth = 2;
  limits.max_buffered = 1024 * 1024;
  return limits;
}

class Subscriber final : public Session {
 public:
  Subscriber(ChatRoomUrl room, std::string instance, std::weak_ptr<ChatRelay> relay)
      : room_(std::move(room)), instance_(std::move(instance)), relay_(std::move(relay)) {}

  void on_open(Output& out) override { out.write(resp_command({"SUBSCRIBE", room_.channel})); }

  void on_data(std::string_view bytes, Output& out) override {
    decoder_.feed(bytes);
    while (auto reply = decoder_.next()) {
      if (reply->type == RespValue::Type::error) {
        // SUBSCRIBE refused (a server that wants AUTH): the connection ends, and is tried again.
        throw std::runtime_error("redis " + room_.host + ":" + room_.port + ": " + reply->text);
      }
      if (!reply->is_array() || reply->items.size() != 3) continue;
      const auto& items = reply->items;
      if (items[0].text != "message" || items[1].text != room_.channel) continue;
      deliver(items[2].text);
    }
    (void)out;
  }

 private:
  void deliver(std::string_view payload) {
    const std::size_t newline = payload.find('\n');
    if (newline == std::string_view::npos) return;
    if (payload.substr(0, newline) == instance_) return;  // our own, already delivered
    if (auto relay = relay_.lock()) relay->deliver_remote(payload.substr(newline + 1));
  }

  ChatRoomUrl room_;
  std::string instance_;
  std::weak_ptr<ChatRelay> relay_;
  RespDecoder decoder_{chat_limits()};
};

class Publisher final : public Session {
 public:
  explicit Publisher(std::weak_ptr<ChatRelay> relay) : relay_(std::move(relay)) {}

  void on_open(Output& out) override {
    if (auto relay = relay_.lock()) relay->set_publisher(out.peer());
  }
  // Redis answers each PUBLISH with the number of subscribers that got it: read and let go.
  void on_data(std::string_view bytes, Output& out) override {
    decoder_.feed(bytes);
    while (decoder_.next()) {
    }
    (void)out;
  }
  void on_close() override {
    if (auto relay = relay_.lock()) relay->set_publisher(nullptr);
  }

 private:
  std::weak_ptr<ChatRelay> relay_;
  RespDecoder decoder_{chat_limits()};
};

class ChatLink final : public ServiceLink {
 public:
  ChatLink(ChatRoomUrl room, std::string instance, std::weak_ptr<ChatRelay> relay, bool subscriber)
      : room_(std::move(room)),
        instance_(std::move(instance)),
        relay_(std::move(relay)),
        subscriber_(subscriber) {}

  std::string describe() const override {
    return "chat room " + room_.text + (subscriber_ ? " (subscriber)" : " (publisher)");
  }
  OutboundRequest target() const override { return {room_.host, room_.port}; }
  std::unique_ptr<Session> open() override {
    if (subscriber_) return std::make_unique<Subscriber>(room_, instance_, relay_);
    return std::make_unique<Publisher>(relay_);
  }

 private:
  ChatRoomUrl room_;
  std::string instance_;
  std::weak_ptr<ChatRelay> relay_;
  bool subscriber_;
};

}  // namespace

ChatRoomUrl parse_chat_room_url(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("chat room " + std::string(url) + ": " + why +
                                 " (expected redis://HOST:PORT/NAME)");
  };
  if (url.substr(0, scheme.size()) != scheme) throw bad("not a redis:// URL");
  std::string_view rest = url.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) throw bad("no channel name");
  std::string_view authority = rest.substr(0, slash);
  ChatRoomUrl room;
  room.text = url;
  room.channel = rest.substr(slash + 1);
  if (room.channel.empty()) throw bad("no channel name");
  for (char c : room.channel) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) throw bad("the channel name has a blank or control byte");
  }
  std::string_view port = "6379";
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:PORT
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw bad("no ']' after the IPv6 address");
    room.host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad("junk after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    room.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (room.host.empty()) throw bad("no host");
  unsigned number = 0;
  const char* end = port.data() + port.size();
  const auto [stop, error] = std::from_chars(port.data(), end, number);
  if (port.empty() || error != std::errc{} || stop != end || number == 0 || number > 65535) {
    throw bad("the port must be 1-65535");
  }
  room.port = std::to_string(number);
  return room;
}

std::string new_instance_id() {
  std::random_device random;
  std::uint64_t value = (std::uint64_t{random()} << 32) ^ random();
  static constexpr char digits[] = "0123456789abcdef";
  std::string id(16, '0');
  for (char& c : id) {
    c = digits[value & 0xf];
    value >>= 4;
  }
  return id;
}

std::string chat_publish_command(const ChatRoomUrl& room, const std::string& instance,
                                 const std::string& line) {
  const std::string payload = instance + "\n" + line;
  return resp_command({"PUBLISH", room.channel, payload});
}

std::vector<std::shared_ptr<ServiceLink>> chat_redis_links(const ChatRoomUrl& room,
                                                           const std::string& instance,
                                                           const std::weak_ptr<ChatRelay>& relay) {
  return {std::make_shared<ChatLink>(room, instance, relay, true),
          std::make_shared<ChatLink>(room, instance, relay, false)};
}

}  // namespace sockit::server::detail
