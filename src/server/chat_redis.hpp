// A chat room shared by several servers through a Redis channel: what the room tells the
// others (its members' joins, lines and leaves) is published there, and what the others
// publish is handed to the room for its local members. Two links (Service::links) on the
// server's event loop: a subscriber (SUBSCRIBE NAME) and a publisher (PUBLISH NAME ...),
// since a subscribed RESP2 connection takes no other command. Each published message is
// "INSTANCE\nLINE": a server skips its own, so nobody hears a line twice. While Redis is
// down the room goes on serving its own members; what they say meanwhile reaches no other
// server.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/server/session.hpp"

namespace sockit::server::detail {

// Where the room is shared: redis://HOST:PORT/NAME (PORT defaults to 6379).
struct ChatRoomUrl {
  std::string host;
  std::string port;
  std::string channel;
  std::string text;  // the URL as given, for the log
};
// Throws std::invalid_argument naming what is wrong with `url`.
ChatRoomUrl parse_chat_room_url(std::string_view url);

// What the room offers its links; any thread may call it.
class ChatRelay {
 public:
  virtual ~ChatRelay() = default;
  // The publisher's connection, once it is open; null once it has closed.
  virtual void set_publisher(std::shared_ptr<Peer> publisher) = 0;
  // A line another server's member said (or a join or a leave), for every local member.
  virtual void deliver_remote(std::string_view line) = 0;
};

// A fresh instance id: 16 random hex digits.
std::string new_instance_id();

// The PUBLISH command that tells the other servers `line` (which ends in "\n").
std::string chat_publish_command(const ChatRoomUrl& room, const std::string& instance,
                                 const std::string& line);

// The subscriber's and the publisher's links. They hold the relay weakly.
std::vector<std::shared_ptr<ServiceLink>> chat_redis_links(const ChatRoomUrl& room,
                                                           const std::string& instance,
                                                           const std::weak_ptr<ChatRelay>& relay);

}  // namespace sockit::server::detail
