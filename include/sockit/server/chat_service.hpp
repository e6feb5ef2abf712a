// chat (port 5000), the seeds' ChatServer: the first line a client sends is its nickname,
// then every line it sends reaches everyone else as "NICK: message". Joins and leaves are
// announced. The room is shared state, so it runs on thread, pool, reactor and hybrid;
// serial (one client at a time), fork and prefork (one process per client) refuse it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sockit/server/session.hpp"

namespace sockit::server {

// The protocol, line by line (every line the server writes ends with "\n"):
//   client -> "alice"                   first line: the nickname
//   alice  <- "Welcome to the chat, alice"
//   others <- "alice joined the chat"
//   client -> "hello"                    any later line
//   others <- "alice: hello"            (the sender gets no copy; empty lines are skipped)
//   others <- "alice left the chat"      when alice disconnects, however that happens
// A refused nickname gets one line saying why ("Nickname taken: alice, choose another",
// "Invalid nickname: ...") and the client may send another; after max_nick_attempts
// refusals the connection is closed. Nicknames are 1..max_nick_length bytes of printable
// ASCII without spaces or ':' (so "NICK: message" cannot be forged), unique ignoring case.
// Control characters in messages (C0, DEL, and C1 whether UTF-8 encoded or as lone bytes)
// are replaced by '?' so one client cannot drive the others' terminals. On the pool architecture
// each member holds a thread: a room larger than --workers leaves the extra clients waiting in the
// queue.
//
// A room shared by several servers: with room_url "redis://HOST:PORT/NAME" every server on
// the same Redis channel tells the others its members' joins, lines and leaves, and hands
// theirs to its own members, in the same format, each once and never back to the sender.
// The event-loop architectures, thread and pool keep the link (see ServiceLink); while Redis is
// down each server serves its own members, logs the outage once, and reconnects with backoff; lines
// said meanwhile reach only the members of their own server. Nicknames are unique per server, not
// across the shared room.
struct ChatOptions {
  std::size_t max_nick_length = 32;
  unsigned max_nick_attempts = 5;
  std::string room_url;  // empty: the room is this server's alone
};

class ChatService : public Service {
 public:
  explicit ChatService(ChatOptions options = {});
  ~ChatService() override;

  std::string_view name() const override { return "chat"; }
  std::uint16_t default_port() const override { return 5000; }
  bool needs_shared_state() const override { return true; }
  bool needs_concurrency() const override { return true; }
  std::vector<std::shared_ptr<ServiceLink>> links() const override;
  std::unique_ptr<Session> open(const ConnectionInfo& connection) override;

  // Members in the room now (after their nickname was accepted).
  std::size_t members() const;

  // Why `nick` cannot be a nickname, or "" when it can (uniqueness aside).
  static std::string nickname_problem(std::string_view nick, std::size_t max_length);

  class Member;
  // A member that reaches the room through another door than TCP lines (the web page's
  // WebSocket): it hands over the client's lines one by one, as the TCP session does.
  std::unique_ptr<Member> member();

 private:
  class Room;
  class ChatSession;

  ChatOptions options_;
  std::shared_ptr<Room> room_;
  std::vector<std::shared_ptr<ServiceLink>> links_;
};

// What a member's own connection is to the room, whatever carries it.
class ChatConnection {
 public:
  // One line (ending in "\n") for this member alone: the welcome, a refusal.
  virtual void reply(std::string_view line) = 0;
  // Ends the connection after the replies (too many nickname attempts).
  virtual void hang_up() = 0;
  // Where the room sends everyone else's lines, one "...\n" line per send.
  virtual std::shared_ptr<Peer> peer() = 0;

 protected:
  ~ChatConnection() = default;
};

// One client of the room, whatever door it came in by: its first line is its nickname
// (refused ones answered, max_nick_attempts of them allowed), every later line goes to the
// others as "NICK: line". It leaves when destroyed, if it has not before.
class ChatService::Member {
 public:
  Member(std::shared_ptr<Room> room, ChatOptions options);
  ~Member();
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  // One line the client sent, without its terminator.
  void on_line(std::string_view line, ChatConnection& connection);
  // Leaves the room (announced to the others) if it had joined.
  void leave() noexcept;
  bool joined() const noexcept { return joined_; }

 private:
  void choose_nickname(std::string_view line, ChatConnection& connection);

  std::shared_ptr<Room> room_;
  ChatOptions options_;
  std::uint64_t id_;
  std::string nick_;
  bool joined_ = false;
  unsigned attempts_ = 0;
};

}  // namespace sockit::server
