// `sockit scan` on loopback: exactly the listeners we open are reported open, ports nobody
// listens on closed, a listener whose accept queue is full filtered; bad port lists are
// usage errors; an unknown host is a network failure. Only ports of our own are scanned,
// since other tests listen on loopback at the same time.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "sockit/error.hpp"
#include "sockit/poll.hpp"
#include "sockit/tcp.hpp"
#include "support/unresolvable.hpp"

namespace sockit::test {
namespace {

struct Targets {
  std::vector<TcpServer> listeners;
  std::set<std::uint16_t> open;
  std::set<std::uint16_t> closed;
  // Bound, never listening: a connection to one is refused, and no other test running
  // beside this one can take the port meanwhile (a port found free and let go could be).
  std::vector<Socket> closed_holders;
  std::string spec;  // a port list naming all of them, including a one-port range
};

Targets make_targets(int listeners, int closed) {
  Targets t;
  for (int i = 0; i < listeners; ++i) {
    t.listeners.emplace_back("127.0.0.1", 0);
    t.open.insert(t.listeners.back().port());
  }
  while (static_cast<int>(t.closed.size()) < closed) {
    Socket holder(AF_INET, SOCK_STREAM);
    holder.bind(Address::loopback_ipv4(0));
    t.closed.insert(holder.local_address().port());
    t.closed_holders.push_back(std::move(holder));
  }
  // Appended piece by piece: g++ 12 at -O3 misreads `"," + std::to_string(port)` as an
  // overflow (-Wstringop-overflow).
  bool first = true;
  for (auto port : t.open) {
    const std::string text = std::to_string(port);
    if (first) {
      t.spec.append(text).append("-").append(text);
    } else {
      t.spec.append(",").append(text);
    }
    first = false;
  }
  for (auto port : t.closed)
    t.spec.append(",").append(std::to_string(port));
  return t;
}

std::set<std::uint16_t> ports_in_state(const nlohmann::json& doc, const std::string& state) {
  std::set<std::uint16_t> out;
  for (const auto& entry : doc["ports"]) {
    if (entry["state"] == state) out.insert(entry["port"].get<std::uint16_t>());
  }
  return out;
}

TEST(CliScan, ReportsExactlyTheOpenListeners) {
  auto t = make_targets(3, 4);
  auto r = run_sockit({"scan", "127.0.0.1", t.spec});
  ASSERT_TRUE(r.status.success()) << describe(r);
  std::string expected;
  for (auto port : t.open) {
    std::string column = std::to_string(port) + "/tcp";
    column.resize(10, ' ');
    expected += column + "open\n";
  }
  // Only open ports are listed (sorted by port), then the summary.
  auto summary = r.out.find("127.0.0.1 (127.0.0.1): 7 ports scanned in ");
  ASSERT_NE(summary, std::string::npos) << r.out;
  std::string listed = r.out.substr(0, summary);
  // A port may have a service name after "open"; compare the port and state only.
  std::string stripped;
  for (std::size_t pos = 0; pos < listed.size();) {
    auto end = listed.find('\n', pos);
    std::string line = listed.substr(pos, end - pos);
    stripped += line.substr(0, line.find("open") + 4) + "\n";
    pos = end + 1;
  }
  EXPECT_EQ(stripped, expected) << r.out;
  EXPECT_NE(r.out.find(": 3 open, 4 closed, 0 filtered, 0 errors\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "") << "no progress bar when stderr is not a terminal";
}

TEST(CliScan, JsonWithAllListsEveryPortInOrder) {
  auto t = make_targets(2, 5);
  auto r = run_sockit({"scan", "127.0.0.1", t.spec, "--all", "--json", "--concurrency", "2"});
  ASSERT_TRUE(r.status.success()) << describe(r);
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["address"], "127.0.0.1");
  EXPECT_EQ(ports_in_state(doc, "open"), t.open);
  EXPECT_EQ(ports_in_state(doc, "closed"), t.closed);
  ASSERT_EQ(doc["ports"].size(), 7u);
  for (std::size_t i = 1; i < doc["ports"].size(); ++i) {
    EXPECT_LT(doc["ports"][i - 1]["port"].get<int>(), doc["ports"][i]["port"].get<int>());
  }
  EXPECT_EQ(doc["summary"]["open"], 2);
  EXPECT_EQ(doc["summary"]["closed"], 5);
  EXPECT_EQ(doc["summary"]["scanned"], 7);
}

// Linux drops a SYN to a listener whose accept queue is full, so the connect gets no answer.
TEST(CliScan, FullAcceptQueueCountsAsFiltered) {
  ListenOptions options;
  options.backlog = 0;
  TcpServer full("127.0.0.1", 0, options);
  std::vector<Socket> queued;
  for (int i = 0; i < 3; ++i) {
    Socket s(AF_INET, SOCK_STREAM);
    try {
      if (s.connect_nonblock(full.address()) == ConnectStatus::in_progress) {
        wait_writable(s, std::chrono::milliseconds(500));
      }
    } catch (const Error&) {
    }
    queued.push_back(std::move(s));
  }
  auto r = run_sockit(
      {"scan", "127.0.0.1", std::to_string(full.port()), "--all", "--json", "--timeout", "300ms"});
  ASSERT_TRUE(r.status.success()) << describe(r);
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["ports"].size(), 1u) << r.out;
  EXPECT_EQ(doc["ports"][0]["state"], "filtered") << r.out;
  EXPECT_EQ(doc["summary"]["filtered"], 1);
}

TEST(CliScan, BadPortListsAreUsageErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"70000", "sockit: scan: port 70000 out of range (1-65535)\n"},
      {"10-5", "sockit: scan: bad port range '10-5': 10 is above 5\n"},
      {"abc", "sockit: scan: port 'abc' is not a number\n"},
      {"0", "sockit: scan: port 0 out of range (1-65535)\n"},
      {"80,,443", "sockit: scan: bad port list '80,,443': empty item (expected e.g. 20-100,443)\n"},
      {"1-", "sockit: scan: bad port range '1-': expected FIRST-LAST, e.g. 20-100\n"},
  };
  for (auto [spec, message] : cases) {
    auto r = run_sockit({"scan", "127.0.0.1", spec});
    EXPECT_EQ(r.status.code, 2) << spec << ": " << describe(r);
    EXPECT_EQ(r.err, message) << spec;
    EXPECT_EQ(r.out, "") << spec;
  }
}

TEST(CliScan, BadOptionsAreUsageErrors) {
  auto r = run_sockit({"scan", "127.0.0.1", "80", "--timeout", "soon"});
  EXPECT_EQ(r.status.code, 2) << describe(r);
  EXPECT_NE(r.err.find("timeout 'soon' is not a duration"), std::string::npos) << r.err;
  r = run_sockit({"scan", "127.0.0.1", "80", "--concurrency", "0"});
  EXPECT_EQ(r.status.code, 2) << describe(r);
}

TEST(CliScan, UnresolvableHostIsANetworkFailure) {
  const std::string host = unresolvable_host;
  auto r = run_sockit({"scan", host, "80"});
  EXPECT_EQ(r.status.code, 1) << describe(r);
  EXPECT_EQ(r.err, "sockit: resolve " + host + ": Name or service not known\n");
}

}  // namespace
}  // namespace sockit::test
