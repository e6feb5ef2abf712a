// The chat room (see sockit/server/chat_service.hpp). Members are reached through Peer
// handles, which any thread may send through, so a room spans threads and hybrid reactors
// alike. The room lock orders every announcement, so all members see joins, messages and
// leaves in the same order.
#include "sockit/server/chat_service.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat_redis.hpp"
#include "sockit/server/line_session.hpp"

namespace sockit::server {
namespace {

std::string folded(std::string_view nick) {
  std::string key(nick);
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key;
}

// The length of the well-formed UTF-8 sequence at the start of `text`, 0 when there is
// none (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
std::size_t utf8_sequence(std::string_view text) {
  auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = at(0);
  std::size_t length = 0;
  unsigned char low = 0x80;  // the range of the second byte
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length || at(1) < low || at(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (at(i) < 0x80 || at(i) > 0xbf) return 0;
  }
  return length;
}

// Control characters would let one client move the cursor or clear the screen of every
// other client's terminal. That holds for C0 and DEL, and for C1 (0x80-0x9f: CSI is 0x9b)
// both as UTF-8 (U+0080..U+009F) and as lone bytes outside any UTF-8 sequence; each
// becomes one '?'. Other UTF-8, and other lone bytes (Latin-1 text), pass unchanged.
std::string printable(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  while (!text.empty()) {
    const auto byte = static_cast<unsigned char>(text.front());
    std::size_t length = byte < 0x80 ? 1 : utf8_sequence(text);
    if (length == 0) {
      clean += byte <= 0x9f ? '?' : text.front();
      length = 1;
    } else if (length == 1) {
      clean += (byte < 0x20 && byte != '\t') || byte == 0x7f ? '?' : text.front();
    } else if (byte == 0xc2 && static_cast<unsigned char>(text[1]) <= 0x9f) {
      clean += '?';
    } else {
      clean.append(text.substr(0, length));
    }
    text.remove_prefix(length);
  }
  return clean;
}

}  // namespace

class ChatService::Room final : public detail::ChatRelay {
 public:
  // Shares the room with the other servers on `url`'s channel, as `instance`.
  void share(detail::ChatRoomUrl url, std::string instance) {
    url_ = std::move(url);
    instance_ = std::move(instance);
  }

  void set_publisher(std::shared_ptr<Peer> publisher) override {
    std::lock_guard lock(mutex_);
    publisher_ = std::move(publisher);
  }

  // Another server's text: one line, its control characters made harmless like a local
  // member's; anything else (no final newline, several lines) is dropped.
  void deliver_remote(std::string_view line) override {
    if (line.size() < 2 || line.back() != '\n') return;
    line.remove_suffix(1);
    if (line.find_first_of("\r\n") != std::string_view::npos) return;
    const std::string clean = printable(line) + "\n";
    std::lock_guard lock(mutex_);
    broadcast_locked(clean, 0);
  }

  // Adds a member unless the nickname is in use (ignoring case); false when it is.
  // The welcome is replied to the newcomer under the lock, so it precedes
  // anything others send to it.
  bool join(std::uint64_t id, const std::string& nick, ChatConnection& newcomer) {
    std::lock_guard lock(mutex_);
    std::string key = folded(nick);
    for (const auto& m : members_) {
      if (m.key == key) return false;
    }
    members_.push_back(Entry{id, key, newcomer.peer()});
    newcomer.reply("Welcome to the chat, " + nick + "\n");
    broadcast_locked(nick + " joined the chat\n", id);
    publish_locked(nick + " joined the chat\n");
    return true;
  }

  void say(std::uint64_t from, const std::string& line) {
    std::lock_guard lock(mutex_);
    broadcast_locked(line, from);
    publish_locked(line);
  }

  void leave(std::uint64_t id, const std::string& nick) {
    std::lock_guard lock(mutex_);
    auto it =
        std::find_if(members_.begin(), members_.end(), [id](const Entry& m) { return m.id == id; });
    if (it == members_.end()) return;
    members_.erase(it);
    broadcast_locked(nick + " left the chat\n", id);
    publish_locked(nick + " left the chat\n");
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return members_.size();
  }

  std::uint64_t next_id() {
    std::lock_guard lock(mutex_);
    return ++last_id_;
  }

 private:
  struct Entry {
    std::uint64_t id;
    std::string key;  // the nickname, case-folded
    std::shared_ptr<Peer> peer;
  };

  // Peer::send only queues (it never calls back into a session), so it is safe under the
  // lock; a member whose connection has died is a no-op until its on_close removes it.
  void broadcast_locked(const std::string& message, std::uint64_t except) {
    for (const auto& m : members_) {
      if (m.id != except) m.peer->send(message);
    }
  }

  // To the other servers, when the room is shared and its publisher is connected; while it
  // is not, the line reaches this server's members only.
  void publish_locked(const std::string& line) {
    if (publisher_) publisher_->send(detail::chat_publish_command(url_, instance_, line));
  }

  mutable std::mutex mutex_;
  std::vector<Entry> members_;  // ids start at 1: 0 excepts no one
  std::uint64_t last_id_ = 0;
  detail::ChatRoomUrl url_;
  std::string instance_;
  std::shared_ptr<Peer> publisher_;
};

namespace {

// A TCP client: replies are written to its connection as they are.
class LineConnection final : public ChatConnection {
 public:
  explicit LineConnection(Output& out) : out_(out) {}
  void reply(std::string_view line) override { out_.write(line); }
  void hang_up() override { out_.close(); }
  std::shared_ptr<Peer> peer() override { return out_.peer(); }

 private:
  Output& out_;
};

}  // namespace

class ChatService::ChatSession final : public LineSession {
 public:
  ChatSession(const SessionLimits& limits, std::shared_ptr<Room> room, const ChatOptions& options)
      : LineSession(limits), member_(std::move(room), options) {}

  void on_close() override { member_.leave(); }

 protected:
  void on_line(std::string_view line, Output& out) override {
    LineConnection connection(out);
    member_.on_line(line, connection);
  }

 private:
  Member member_;
};

ChatService::Member::Member(std::shared_ptr<Room> room, ChatOptions options)
    : room_(std::move(room)), options_(std::move(options)), id_(room_->next_id()) {}

ChatService::Member::~Member() {
  leave();
}

void ChatService::Member::on_line(std::string_view line, ChatConnection& connection) {
  if (!joined_) {
    choose_nickname(line, connection);
    return;
  }
  if (line.empty()) return;
  room_->say(id_, nick_ + ": " + printable(line) + "\n");
}

void ChatService::Member::choose_nickname(std::string_view line, ChatConnection& connection) {
  if (attempts_ >= options_.max_nick_attempts) return;  // hung up already
  std::string nick(line);
  // Surrounding blanks are a typing accident, not part of the name.
  auto first = nick.find_first_not_of(" \t");
  auto last = nick.find_last_not_of(" \t");
  nick = first == std::string::npos ? std::string() : nick.substr(first, last - first + 1);

  std::string problem = ChatService::nickname_problem(nick, options_.max_nick_length);
  if (problem.empty()) {
    if (room_->join(id_, nick, connection)) {
      nick_ = std::move(nick);
      joined_ = true;
      return;
    }
    connection.reply("Nickname taken: " + nick + ", choose another\n");
  } else {
    connection.reply("Invalid nickname: " + problem + "\n");
  }
  if (++attempts_ >= options_.max_nick_attempts) {
    connection.reply("Too many attempts, goodbye\n");
    connection.hang_up();
  }
}

void ChatService::Member::leave() noexcept {
  if (!joined_) return;
  joined_ = false;
  try {
    room_->leave(id_, nick_);
  } catch (...) {
    // Out of memory while announcing: the member is gone either way.
  }
}

ChatService::ChatService(ChatOptions options)
    : options_(std::move(options)), room_(std::make_shared<Room>()) {
  if (options_.room_url.empty()) return;
  detail::ChatRoomUrl url = detail::parse_chat_room_url(options_.room_url);
  std::string instance = detail::new_instance_id();
  links_ = detail::chat_redis_links(url, instance, room_);
  room_->share(std::move(url), std::move(instance));
}

ChatService::~ChatService() = default;

std::unique_ptr<Session> ChatService::open(const ConnectionInfo& connection) {
  return std::make_unique<ChatSession>(connection.limits, room_, options_);
}

std::unique_ptr<ChatService::Member> ChatService::member() {
  return std::make_unique<Member>(room_, options_);
}

std::vector<std::shared_ptr<ServiceLink>> ChatService::links() const {
  return links_;
}

std::size_t ChatService::members() const {
  return room_->size();
}

std::string ChatService::nickname_problem(std::string_view nick, std::size_t max_length) {
  if (nick.empty()) return "empty (send your nickname as the first line)";
  if (nick.size() > max_length) {
    return "longer than " + std::to_string(max_length) + " bytes";
  }
  for (char c : nick) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) {
      return "use printable ASCII letters, digits and punctuation, without spaces";
    }
    if (c == ':') return "':' is not allowed";
  }
  return {};
}

}  // namespace sockit::server
