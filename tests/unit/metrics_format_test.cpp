// The metrics door's formats for hand-made counters: the exact Prometheus text (families,
// labels, escaping of label values), its families each together under one HELP and TYPE,
// the JSON's shape, and the process's own figures read from /proc.
#include "../../src/http_server/metrics_format.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sockit/file_descriptor.hpp"

namespace sockit::http {
namespace {

using server::Counter;
using server::ServerMetrics;

ProcessStats process_stats() {
  ProcessStats p;
  p.cpu_seconds = 1.25;
  p.resident_bytes = 4096000;
  p.open_fds = 7;
  p.start_time_seconds = 1700000000.5;
  p.read_at_seconds = 1700000100.25;
  return p;
}

// One worker whose name needs escaping, with every counter set to a distinct value.
ServerMetrics one_worker() {
  ServerMetrics m;
  m.service = "echo";
  m.architecture = "reactor";
  m.open = 2;
  server::WorkerMetrics w;
  w.worker = "a\"b\\c\nd";
  for (std::size_t i = 0; i < server::kCounterCount; ++i)
    w.counts.values[i] = 100 + i;
  m.total = w.counts;
  m.workers.push_back(w);
  return m;
}

TEST(MetricsFormat, PrometheusTextIsExact) {
  const std::string expected = R"(# HELP sockit_info The service and the architecture serving it.
# TYPE sockit_info gauge
sockit_info{service="echo",architecture="reactor"} 1
# HELP sockit_connections_open Connections open now: accepted and not yet closed.
# TYPE sockit_connections_open gauge
sockit_connections_open 2
# HELP sockit_connections_accepted_total Connections admitted.
# TYPE sockit_connections_accepted_total counter
sockit_connections_accepted_total{worker="a\"b\\c\nd"} 100
# HELP sockit_connections_refused_total Connections turned away, by reason: full (the server's connection limit), per_ip (the per-address limit).
# TYPE sockit_connections_refused_total counter
sockit_connections_refused_total{worker="a\"b\\c\nd",reason="full"} 101
sockit_connections_refused_total{worker="a\"b\\c\nd",reason="per_ip"} 102
# HELP sockit_connections_closed_total Connections closed, by reason: eof (the peer's end of stream), reset (by the peer), idle (the idle timeout), error (another I/O error or a failed session), server (ended by the server: the session, a drain, a slow reader).
# TYPE sockit_connections_closed_total counter
sockit_connections_closed_total{worker="a\"b\\c\nd",reason="eof"} 103
sockit_connections_closed_total{worker="a\"b\\c\nd",reason="reset"} 104
sockit_connections_closed_total{worker="a\"b\\c\nd",reason="idle"} 105
sockit_connections_closed_total{worker="a\"b\\c\nd",reason="error"} 106
sockit_connections_closed_total{worker="a\"b\\c\nd",reason="server"} 107
# HELP sockit_received_bytes_total Bytes read from clients.
# TYPE sockit_received_bytes_total counter
sockit_received_bytes_total{worker="a\"b\\c\nd"} 108
# HELP sockit_sent_bytes_total Bytes the kernel took for clients.
# TYPE sockit_sent_bytes_total counter
sockit_sent_bytes_total{worker="a\"b\\c\nd"} 109
# HELP sockit_messages_received_total Messages from clients as the protocol frames them: lines, WebSocket messages, HTTP requests.
# TYPE sockit_messages_received_total counter
sockit_messages_received_total{worker="a\"b\\c\nd"} 110
# HELP sockit_messages_sent_total Messages to clients: writes by sessions and sends through their peers.
# TYPE sockit_messages_sent_total counter
sockit_messages_sent_total{worker="a\"b\\c\nd"} 111
# HELP sockit_messages_refused_total Messages refused, by reason: rate (the per-connection rate limit).
# TYPE sockit_messages_refused_total counter
sockit_messages_refused_total{worker="a\"b\\c\nd",reason="rate"} 112
# HELP sockit_tls_handshakes_total TLS handshakes completed.
# TYPE sockit_tls_handshakes_total counter
sockit_tls_handshakes_total{worker="a\"b\\c\nd"} 113
# HELP sockit_tls_handshake_failures_total TLS handshakes failed.
# TYPE sockit_tls_handshake_failures_total counter
sockit_tls_handshake_failures_total{worker="a\"b\\c\nd"} 114
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds, by this process and the children it has reaped (a fork or prefork child's time counts once it has exited).
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.25
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4096000
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 7
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1700000000.5
)";
  EXPECT_EQ(prometheus_text(one_worker(), process_stats()), expected);
}

// The sample lines of `text` that belong to `name`, in order.
std::vector<std::string> samples_of(const std::string& text, const std::string& name) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) lines.push_back(line);
  }
  return lines;
}

TEST(MetricsFormat, EachFamilyIsTogetherUnderOneHeadWithEveryWorkersSeries) {
  ServerMetrics m;
  m.service = "chat";
  m.architecture = "hybrid";
  for (const char* name : {"0", "1", "accept"}) {
    server::WorkerMetrics w;
    w.worker = name;
    w.counts[Counter::closed_idle] = 3;
    w.counts[Counter::accepted] = 5;
    m.total += w.counts;
    m.workers.push_back(w);
  }
  const std::string text = prometheus_text(m, process_stats());
  // Once a family's series end, no line of it comes back: walk the lines and note each
  // metric name as it starts; a name seen before that is not the current one is a split.
  std::istringstream in(text);
  std::set<std::string> done;
  std::string current;
  std::set<std::string> typed;
  for (std::string line; std::getline(in, line);) {
    std::string name;
    if (line.rfind("# TYPE ", 0) == 0) {
      name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(typed.insert(name).second) << "two TYPE lines for " << name;
    } else if (line.rfind("# HELP ", 0) == 0) {
      name = line.substr(7, line.find(' ', 7) - 7);
    } else {
      name = line.substr(0, line.find_first_of("{ "));
    }
    if (name != current) {
      EXPECT_EQ(done.count(name), 0U) << name << " split:\n" << text;
      if (!current.empty()) done.insert(current);
      current = name;
    }
  }
  EXPECT_EQ(samples_of(text, "sockit_connections_accepted_total"),
            (std::vector<std::string>{"sockit_connections_accepted_total{worker=\"0\"} 5",
                                      "sockit_connections_accepted_total{worker=\"1\"} 5",
                                      "sockit_connections_accepted_total{worker=\"accept\"} 5"}));
  const auto closed = samples_of(text, "sockit_connections_closed_total");
  ASSERT_EQ(closed.size(), 15U);  // 3 workers x 5 reasons
  EXPECT_EQ(closed[2], "sockit_connections_closed_total{worker=\"0\",reason=\"idle\"} 3");
  EXPECT_EQ(closed[7], "sockit_connections_closed_total{worker=\"1\",reason=\"idle\"} 3");
  EXPECT_EQ(closed[8], "sockit_connections_closed_total{worker=\"1\",reason=\"error\"} 0");
}

TEST(MetricsFormat, WithoutWorkersTheTotalsHaveNoWorkerLabel) {
  ServerMetrics m;
  m.service = "echo";
  m.architecture = "reactor";
  m.total[Counter::bytes_in] = 42;
  const std::string text = prometheus_text(m, process_stats());
  EXPECT_EQ(samples_of(text, "sockit_received_bytes_total"),
            std::vector<std::string>{"sockit_received_bytes_total 42"});
  EXPECT_EQ(samples_of(text, "sockit_connections_refused_total"),
            (std::vector<std::string>{"sockit_connections_refused_total{reason=\"full\"} 0",
                                      "sockit_connections_refused_total{reason=\"per_ip\"} 0"}));
}

TEST(MetricsFormat, JsonHasTheTotalsTheWorkersAndTheProcess) {
  ServerMetrics m = one_worker();
  m.service = "caf\xc3\xa9 \"quoted\"";
  const auto json = nlohmann::json::parse(stats_json(m, process_stats()));
  EXPECT_EQ(json["service"], "caf\xc3\xa9 \"quoted\"");
  EXPECT_EQ(json["architecture"], "reactor");
  EXPECT_EQ(json["open"], 2);
  const auto& total = json["total"];
  EXPECT_EQ(total["connections_accepted"], 100);
  EXPECT_EQ(total["connections_refused"], (nlohmann::json{{"full", 101}, {"per_ip", 102}}));
  EXPECT_EQ(total["connections_closed"],
            (nlohmann::json{
                {"eof", 103}, {"reset", 104}, {"idle", 105}, {"error", 106}, {"server", 107}}));
  EXPECT_EQ(total["received_bytes"], 108);
  EXPECT_EQ(total["sent_bytes"], 109);
  EXPECT_EQ(total["messages_received"], 110);
  EXPECT_EQ(total["messages_sent"], 111);
  EXPECT_EQ(total["messages_refused"], (nlohmann::json{{"rate", 112}}));
  EXPECT_EQ(total["tls_handshakes"], 113);
  EXPECT_EQ(total["tls_handshake_failures"], 114);
  EXPECT_EQ(total.size(), 10U);
  ASSERT_EQ(json["workers"].size(), 1U);
  EXPECT_EQ(json["workers"][0]["worker"], "a\"b\\c\nd");
  EXPECT_EQ(json["workers"][0]["counters"], total);
  EXPECT_EQ(json["process"], (nlohmann::json{{"cpu_seconds", 1.25},
                                             {"resident_bytes", 4096000},
                                             {"open_fds", 7},
                                             {"start_time_seconds", 1700000000.5},
                                             {"time_seconds", 1700000100.25}}));
}

TEST(MetricsFormat, NamesThatAreNotUtf8AreSentReplacedNotRefused) {
  ServerMetrics m;
  m.service = "bad\xff";
  const auto json = nlohmann::json::parse(stats_json(m, process_stats()));
  EXPECT_EQ(json["service"], "bad\xef\xbf\xbd");
}

TEST(MetricsFormat, ProcessStatsAreThisProcesss) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const ProcessStats before = read_process_stats();
  EXPECT_GT(before.resident_bytes, 0U);
  EXPECT_GE(before.cpu_seconds, 0.0);
  EXPECT_GT(before.start_time_seconds, 1e9);
  EXPECT_LE(before.start_time_seconds, now + 1);
  EXPECT_GE(before.read_at_seconds, now - 1);
  // Three more descriptors are counted as three more.
  std::vector<FileDescriptor> opened;
  for (int i = 0; i < 3; ++i)
    opened.emplace_back(::dup(1));
  const ProcessStats after = read_process_stats();
  EXPECT_EQ(after.open_fds, before.open_fds + 3);
  EXPECT_EQ(after.start_time_seconds, before.start_time_seconds);
}

}  // namespace
}  // namespace sockit::http
