// Internal: a server's metric shards, and their sum (Server::metrics()). Shards are made as
// workers start and live as long as the registry; a thread-per-connection thread borrows one
// and gives it back, so there are as many as the most threads at once. Fork and prefork
// count in shards the registry maps shared before the first fork.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "metric_shard.hpp"
#include "sockit/server/metrics.hpp"

namespace sockit::server::detail {

class MetricsRegistry {
 public:
  // `shared`: how many shards to map shared between processes (fork, prefork), 0 for none.
  MetricsRegistry(std::string service, std::string architecture, std::size_t shared);
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // A shard for one worker, of this process alone. Thread-safe.
  MetricShard& add(std::string worker);
  // A shard labelled `worker` no other thread holds now; give it back when done.
  MetricShard& borrow(const std::string& worker);
  void give_back(MetricShard& shard) noexcept;
  // Shared shard `index` (below the count given at construction), labelled `worker`. The
  // first call for an index sets its label; `many_writers`: several processes add to it.
  MetricShard& shared(std::size_t index, std::string worker, bool many_writers = false);

  ServerMetrics snapshot() const;

 private:
  struct Entry {
    std::string worker;
    MetricShard* shard;
    bool lendable = false;  // made by borrow()
    bool borrowed = false;
  };
  std::string service_;
  std::string architecture_;
  mutable std::mutex mutex_;
  std::deque<MetricShard> local_;  // stable addresses
  std::vector<Entry> entries_;     // in the order workers started
  MetricShard* shared_ = nullptr;  // mmap'ed, shared_count_ shards
  std::size_t shared_count_ = 0;
  std::vector<bool> shared_labelled_;
};

}  // namespace sockit::server::detail
