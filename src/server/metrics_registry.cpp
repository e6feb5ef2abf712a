// A server's metric shards (see metrics_registry.hpp).
#include "metrics_registry.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <new>
#include <stdexcept>
#include <utility>

#include "sockit/error.hpp"

namespace sockit::server::detail {
namespace {

thread_local MetricShard* current_shard = nullptr;

MetricShard& unread_shard() noexcept {
  thread_local MetricShard nobody;
  return nobody;
}

}  // namespace

MetricShard& thread_shard() noexcept {
  MetricShard* shard = current_shard;
  return shard != nullptr ? *shard : unread_shard();
}

void set_thread_shard(MetricShard* shard) noexcept {
  current_shard = shard;
}

MetricsRegistry::MetricsRegistry(std::string service, std::string architecture, std::size_t shared)
    : service_(std::move(service)), architecture_(std::move(architecture)) {
  if (shared == 0) return;
  void* memory = ::mmap(nullptr, shared * sizeof(MetricShard), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw_errno("mmap", "metric counters", errno);
  shared_ = static_cast<MetricShard*>(memory);
  shared_count_ = shared;
  shared_labelled_.assign(shared, false);
}

MetricsRegistry::~MetricsRegistry() {
  if (shared_ == nullptr) return;
  for (std::size_t i = 0; i < shared_count_; ++i) {
    if (shared_labelled_[i]) shared_[i].~MetricShard();
  }
  ::munmap(shared_, shared_count_ * sizeof(MetricShard));
}

MetricShard& MetricsRegistry::add(std::string worker) {
  std::lock_guard lock(mutex_);
  MetricShard& shard = local_.emplace_back();
  entries_.push_back(Entry{std::move(worker), &shard});
  return shard;
}

MetricShard& MetricsRegistry::borrow(const std::string& worker) {
  std::lock_guard lock(mutex_);
  for (Entry& e : entries_) {
    if (e.lendable && !e.borrowed && e.worker == worker) {
      e.borrowed = true;
      return *e.shard;
    }
  }
  MetricShard& shard = local_.emplace_back();
  entries_.push_back(Entry{worker, &shard, true, true});
  return shard;
}

void MetricsRegistry::give_back(MetricShard& shard) noexcept {
  std::lock_guard lock(mutex_);
  for (Entry& e : entries_) {
    if (e.shard == &shard) e.borrowed = false;
  }
}

MetricShard& MetricsRegistry::shared(std::size_t index, std::string worker, bool many_writers) {
  if (index >= shared_count_) throw std::invalid_argument("MetricsRegistry: no such shared shard");
  std::lock_guard lock(mutex_);
  if (!shared_labelled_[index]) {
    new (&shared_[index]) MetricShard(many_writers);
    shared_labelled_[index] = true;
    entries_.push_back(Entry{std::move(worker), &shared_[index]});
  }
  return shared_[index];
}

ServerMetrics MetricsRegistry::snapshot() const {
  ServerMetrics m;
  m.service = service_;
  m.architecture = architecture_;
  std::lock_guard lock(mutex_);
  for (const Entry& e : entries_) {
    const CounterValues counts = e.shard->read();
    m.total += counts;
    WorkerMetrics* same = nullptr;
    for (WorkerMetrics& w : m.workers) {
      if (w.worker == e.worker) same = &w;
    }
    if (same == nullptr) same = &m.workers.emplace_back(WorkerMetrics{e.worker, {}});
    same->counts += counts;
  }
  const std::uint64_t accepted = m.total[Counter::accepted];
  const std::uint64_t closed = m.total.closed();
  m.open = accepted > closed ? accepted - closed : 0;
  return m;
}

}  // namespace sockit::server::detail
