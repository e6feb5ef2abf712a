// The benchmark harness (see compare.hpp): starts each server pinned to one core, drives it
// from another, and reads its CPU time from /proc between rounds.
#include "compare.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli_support.hpp"

namespace sockit::cli::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---- /proc readings --------------------------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fields of /proc/PID/stat after "(comm)": [0] state, [1] ppid, [11] utime, [12] stime,
// [13] cutime, [14] cstime. Empty when the process is gone.
std::vector<long long> stat_fields(pid_t pid) {
  const std::string text = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto close = text.rfind(')');
  std::vector<long long> fields;
  if (close == std::string::npos) return fields;
  std::istringstream in(text.substr(close + 2));
  std::string field;
  while (in >> field)
    fields.push_back(std::strtoll(field.c_str(), nullptr, 10));
  return fields;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return children;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const auto pid = static_cast<pid_t>(std::atoi(entry->d_name));
    const auto fields = stat_fields(pid);
    if (fields.size() > 1 && fields[1] == parent) children.push_back(pid);
  }
  ::closedir(dir);
  return children;
}

// CPU seconds of a server: its threads, its reaped children, and its live children (the
// workers of fork and prefork).
double process_cpu_seconds(pid_t pid) {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  long long total = 0;
  const auto own = stat_fields(pid);
  if (own.size() > 14) total += own[11] + own[12] + own[13] + own[14];
  for (pid_t child : children_of(pid)) {
    const auto fields = stat_fields(child);
    if (fields.size() > 12) total += fields[11] + fields[12];
  }
  return static_cast<double>(total) / ticks;
}

// Busy seconds of one CPU from /proc/stat: everything but idle and iowait.
double core_busy_seconds(int cpu) {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::istringstream in(read_text("/proc/stat"));
  const std::string wanted = "cpu" + std::to_string(cpu);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    if (name != wanted) continue;
    long long value = 0, busy = 0;
    for (int i = 0; words >> value; ++i) {
      if (i != 3 && i != 4) busy += value;
    }
    return static_cast<double>(busy) / ticks;
  }
  return 0;
}

long long rss_kib(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

long long tree_rss_kib(pid_t pid) {
  long long total = rss_kib(pid);
  for (pid_t child : children_of(pid))
    total += rss_kib(child);
  return total;
}

// ---- CPU placement ---------------------------------------------------------------------

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  return cpus;
}

bool pin_to(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

// Pins the calling thread for the scope, then restores what it was allowed before.
class PinnedScope {
 public:
  explicit PinnedScope(int cpu) {
    CPU_ZERO(&saved_);
    restore_ = ::sched_getaffinity(0, sizeof saved_, &saved_) == 0 && pin_to(cpu);
  }
  ~PinnedScope() {
    if (restore_) ::sched_setaffinity(0, sizeof saved_, &saved_);
  }
  PinnedScope(const PinnedScope&) = delete;
  PinnedScope& operator=(const PinnedScope&) = delete;

 private:
  cpu_set_t saved_;
  bool restore_ = false;
};

// ---- threads and processes -------------------------------------------------------------

struct Shape {
  unsigned threads = 0;
  unsigned processes = 0;
};

// Threads of one process, less the kernel's io_uring workers (iou-wrk-*, iou-sqp-*), which
// are no threads the server chose to run. Only a few threads are looked at one by one: a
// thread per connection would have this read thousands of files on the load's core.
unsigned own_threads(pid_t pid) {
  std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/status"));
  unsigned all = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) {
      all = static_cast<unsigned>(std::strtoul(line.c_str() + 8, nullptr, 10));
    }
  }
  if (all > 64) return all;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(tasks.c_str());
  if (dir == nullptr) return all;
  unsigned count = 0;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const std::string comm = read_text(tasks + "/" + entry->d_name + "/comm");
    if (comm.rfind("iou-", 0) != 0) ++count;
  }
  ::closedir(dir);
  return count;
}

Shape shape_of(pid_t pid) {
  Shape shape{own_threads(pid), 1};
  for (pid_t child : children_of(pid)) {
    shape.threads += own_threads(child);
    ++shape.processes;
  }
  return shape;
}

// ---- system calls ----------------------------------------------------------------------

enum class Tracer { none, perf, strace };

// Starts a program found on PATH with its input and output on /dev/null; -1 if fork fails.
pid_t spawn_quietly(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Runs a program to its end; true when it exits 0.
bool runs_cleanly(const std::vector<std::string>& argv) {
  const pid_t pid = spawn_quietly(argv);
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// perf counts the raw_syscalls:sys_enter tracepoint in the kernel, a small cost per call;
// strace stops the server at every call, so it is only the fallback.
Tracer find_tracer() {
  if (runs_cleanly({"perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"})) {
    return Tracer::perf;
  }
  if (runs_cleanly({"strace", "-f", "-c", "-o", "/dev/null", "true"})) return Tracer::strace;
  return Tracer::none;
}

// A tracer attached to a server's processes (and their threads) for one round.
class SyscallCount {
 public:
  SyscallCount(Tracer tracer, const std::vector<pid_t>& pids) {
    char path[] = "/tmp/sockit-syscalls-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) failure(std::string("bench: mkstemp: ") + std::strerror(errno));
    ::close(fd);
    path_ = path;
    std::vector<std::string> argv;
    if (tracer == Tracer::perf) {
      std::string list;
      for (pid_t pid : pids)
        list += (list.empty() ? "" : ",") + std::to_string(pid);
      argv = {"perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o", path_, "-p", list};
    } else {
      argv = {"strace", "-f", "-c", "-o", path_};
      for (pid_t pid : pids) {
        argv.push_back("-p");
        argv.push_back(std::to_string(pid));
      }
    }
    perf_ = tracer == Tracer::perf;
    pid_ = spawn_quietly(argv);
    if (pid_ < 0) {
      ::unlink(path_.c_str());
      failure(std::string("bench: fork: ") + std::strerror(errno));
    }
    // Both attach asynchronously; the server is idle meanwhile, so starting early loses
    // nothing and starting late would miss the round's first calls.
    std::this_thread::sleep_for(300ms);
  }
  ~SyscallCount() {
    stop();
    ::unlink(path_.c_str());
  }
  SyscallCount(const SyscallCount&) = delete;
  SyscallCount& operator=(const SyscallCount&) = delete;

  // Detaches (SIGINT makes both print their counts) and returns the calls counted; -1 when
  // the tracer failed.
  double stop() noexcept {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGINT);
    const auto deadline = Clock::now() + 10s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    return perf_ ? perf_count() : strace_count();
  }

 private:
  // `perf stat -x,` writes "COUNT,,raw_syscalls:sys_enter,..." ("<not counted>": none).
  double perf_count() const {
    std::istringstream in(read_text(path_));
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("raw_syscalls:sys_enter") == std::string::npos) continue;
      if (line.rfind("<not counted>", 0) == 0) return 0;
      char* end = nullptr;
      const double count = std::strtod(line.c_str(), &end);
      return end != line.c_str() ? count : -1;
    }
    return -1;
  }
  // `strace -c` ends its table with "100.00 SECONDS USECS/CALL CALLS [ERRORS] total".
  double strace_count() const {
    std::istringstream in(read_text(path_));
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string word; words >> word;)
        w.push_back(word);
      if (w.size() >= 5 && w.back() == "total") return std::strtod(w[3].c_str(), nullptr);
    }
    return -1;
  }

  std::string path_;
  pid_t pid_ = -1;
  bool perf_ = true;
};

// ---- one round, watched ----------------------------------------------------------------

// Reads a server's CPU time when a round's measured period begins, `settle` after the start
// (at once without one), and, when asked, follows the most threads and processes it runs.
// Without either there is no thread: the round is measured as it always was.
class RoundWatch {
 public:
  RoundWatch(pid_t pid, int cpu, std::chrono::milliseconds settle, bool follow_shape)
      : pid_(pid), cpu_(cpu) {
    if (settle.count() <= 0) {
      read_start();
      if (!follow_shape) return;
    }
    const auto start_at = Clock::now() + settle;
    thread_ = std::thread([this, start_at, follow_shape] {
      while (!stop_.load(std::memory_order_relaxed)) {
        if (!started_ && Clock::now() >= start_at) read_start();
        if (follow_shape) {
          const Shape now = shape_of(pid_);
          shape_.threads = std::max(shape_.threads, now.threads);
          shape_.processes = std::max(shape_.processes, now.processes);
        } else if (started_) {
          return;
        }
        std::this_thread::sleep_for(follow_shape ? 100ms : 5ms);
      }
    });
  }
  ~RoundWatch() { finish(); }
  RoundWatch(const RoundWatch&) = delete;
  RoundWatch& operator=(const RoundWatch&) = delete;

  void finish() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
    if (!started_) read_start();  // a round that ended before it settled measures nothing
  }
  double cpu_at_start() const noexcept { return cpu_start_; }
  double core_at_start() const noexcept { return core_start_; }
  Shape shape() const noexcept { return shape_; }

 private:
  void read_start() {
    cpu_start_ = process_cpu_seconds(pid_);
    core_start_ = core_busy_seconds(cpu_);
    started_ = true;
  }

  pid_t pid_;
  int cpu_;
  bool started_ = false;  // written by the thread only while it runs
  double cpu_start_ = 0, core_start_ = 0;
  Shape shape_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- one server under test -------------------------------------------------------------

// A child process pinned to one CPU whose stderr goes to an unlinked temporary file (a
// pipe nobody drains during a round could fill up and stall the server).
class ServerProcess {
 public:
  ServerProcess(const std::string& name, const std::vector<std::string>& argv, int cpu)
      : name_(name) {
    char path[] = "/tmp/sockit-bench-XXXXXX";
    log_fd_ = ::mkstemp(path);
    if (log_fd_ < 0) failure(std::string("bench: mkstemp: ") + std::strerror(errno));
    ::unlink(path);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) failure(std::string("bench: fork: ") + std::strerror(errno));
    if (pid_ == 0) {
      pin_to(cpu);
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(log_fd_, STDERR_FILENO);
      ::execv(args[0], args.data());
      const std::string message =
          std::string("exec ") + args[0] + ": " + std::strerror(errno) + "\n";
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, message.data(), message.size());
      ::_exit(127);
    }
  }
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }

  // Waits for "listening on HOST:PORT" and returns the port.
  std::uint16_t wait_port(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const std::string text = log();
      const auto at = text.find("listening on ");
      if (at != std::string::npos) {
        const auto end = text.find_first_of(" \n", at + 13);
        const std::string where = text.substr(at + 13, end - at - 13);
        const auto colon = where.rfind(':');
        if (colon != std::string::npos && end != std::string::npos) {
          return parse_port(where.substr(colon + 1), false, "bench");
        }
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        failure("bench: " + name_ + " exited before listening: " + log());
      }
      std::this_thread::sleep_for(20ms);
    }
    failure("bench: " + name_ + " did not print 'listening on' within " +
            std::to_string(timeout.count()) + " ms: " + log());
  }

  std::string log() const {
    std::string text(64 * 1024, '\0');
    const ssize_t n = ::pread(log_fd_, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
  }

  // SIGTERM (graceful), then SIGKILL if it lingers.
  void stop() noexcept {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      const auto deadline = Clock::now() + 8s;
      int status = 0;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (Clock::now() >= deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(10ms);
      }
      pid_ = -1;
    }
    if (log_fd_ >= 0) ::close(log_fd_);
    log_fd_ = -1;
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
  int log_fd_ = -1;
};

struct Target {
  std::string name;
  std::vector<std::string> argv;
  unsigned workers = 0;  // --workers given; 0: none
};

std::vector<Target> targets_of(const CompareOptions& o) {
  std::vector<Target> targets;
  for (const auto& arch : o.archs) {
    Target t{arch,
             {o.sockit, "serve", o.service, "--arch", arch, "--port", "0", "--quiet", "--max-conns",
              std::to_string(o.load.conns * 2 + 64), "--idle-timeout", "3600"}};
    unsigned workers = o.workers;
    // One reactor (or ring) on the one server core.
    if (workers == 0 && (arch == "hybrid" || arch == "uring-hybrid")) workers = 1;
    if (workers == 0 && (arch == "pool" || arch == "prefork")) {
      // A blocking worker holds its connection for the connection's life.
      workers = static_cast<unsigned>(std::min<std::size_t>(o.load.conns, 1024));
    }
    if (workers > 0) {
      t.argv.push_back("--workers");
      t.argv.push_back(std::to_string(workers));
    }
    if (arch == "pool") {
      t.argv.push_back("--queue");
      t.argv.push_back(std::to_string(o.load.conns + 64));
    }
    t.argv.insert(t.argv.end(), o.serve_args.begin(), o.serve_args.end());
    t.workers = workers;
    targets.push_back(std::move(t));
  }
  for (const auto& [name, path] : o.peers)
    targets.push_back({name, {path, "--port", "0"}, 0});
  return targets;
}

double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

RoundResult medians(const std::vector<RoundResult>& rounds) {
  auto field = [&rounds](auto member) {
    std::vector<double> values;
    for (const auto& r : rounds)
      values.push_back(static_cast<double>(r.*member));
    return median_of(values);
  };
  RoundResult m;
  m.rate = field(&RoundResult::rate);
  m.mib_per_second = field(&RoundResult::mib_per_second);
  m.p50_us = field(&RoundResult::p50_us);
  m.p99_us = field(&RoundResult::p99_us);
  m.p999_us = field(&RoundResult::p999_us);
  m.cpu_us_per_message = field(&RoundResult::cpu_us_per_message);
  m.core_us_per_message = field(&RoundResult::core_us_per_message);
  m.rss_kib_per_connection = field(&RoundResult::rss_kib_per_connection);
  m.syscalls_per_message = field(&RoundResult::syscalls_per_message);
  m.messages = static_cast<std::uint64_t>(field(&RoundResult::messages));
  for (const auto& r : rounds)
    m.errors += r.errors;
  return m;
}

void add_errors(ErrorCounts& sum, const ErrorCounts& e) {
  sum.connect += e.connect;
  sum.reset += e.reset;
  sum.eof += e.eof;
  sum.mismatch += e.mismatch;
  sum.timeout += e.timeout;
  sum.other += e.other;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool idle_mode(const CompareOptions& o) {
  return o.load.mode == LoadMode::idle;
}

// The figure of merit of a result, and its unit.
double merit(const CompareOptions& o, const RoundResult& r) {
  return idle_mode(o) ? r.rss_kib_per_connection : r.cpu_us_per_message;
}
const char* merit_unit(const CompareOptions& o) {
  return idle_mode(o) ? "server RSS KiB per connection" : "server CPU us per message";
}

}  // namespace

CompareReport run_compare(const CompareOptions& o) {
  CompareReport report;
  const std::vector<int> cpus = allowed_cpus();
  if (cpus.empty()) failure("bench: sched_getaffinity failed");
  report.server_cpu = o.server_cpu >= 0 ? o.server_cpu : cpus[0];
  report.load_cpu = o.load_cpu >= 0 ? o.load_cpu : (cpus.size() > 1 ? cpus[1] : cpus[0]);
  if (report.server_cpu == report.load_cpu) {
    std::fputs("sockit: bench: server and load share one CPU; figures are indicative\n", stderr);
  }
  // Idle runs hold thousands of descriptors on both sides; the servers inherit this.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }

  const std::vector<Target> targets = targets_of(o);
  report.baseline = o.baseline.empty() ? targets.front().name : o.baseline;
  const Tracer tracer = o.syscalls ? find_tracer() : Tracer::none;
  if (tracer == Tracer::perf) report.syscall_tool = "perf";
  if (tracer == Tracer::strace) report.syscall_tool = "strace";
  if (o.syscalls && tracer == Tracer::none) {
    std::fputs("sockit: bench: neither perf nor strace works here: system calls not counted\n",
               stderr);
  }

  // One server under test: its process, the load aimed at it, and its rounds.
  struct Run {
    Run(const Target& t, const LoadOptions& l) : target(&t), load(l) {
      result.name = t.name;
      result.workers = t.workers;
    }
    const Target* target;
    TargetResult result;
    std::unique_ptr<ServerProcess> server;
    LoadOptions load;
    bool shape_seen = false;  // threads and processes are followed through one round
  };
  std::vector<Run> runs;
  runs.reserve(targets.size());
  for (const Target& target : targets)
    runs.emplace_back(target, o.load);
  auto start = [&](Run& run) {
    run.server.reset();
    run.server =
        std::make_unique<ServerProcess>(run.target->name, run.target->argv, report.server_cpu);
    run.load.server = Address::loopback_ipv4(run.server->wait_port(10s));
  };
  auto measure = [&](Run& run, bool counted) {
    PinnedScope pinned(report.load_cpu);
    const pid_t pid = run.server->pid();
    std::unique_ptr<SyscallCount> syscalls;
    if (counted && tracer != Tracer::none) {
      std::vector<pid_t> pids{pid};
      for (pid_t child : children_of(pid))
        pids.push_back(child);
      syscalls = std::make_unique<SyscallCount>(tracer, pids);
    }
    const bool follow_shape = !run.shape_seen;
    run.shape_seen = true;
    RoundWatch watch(pid, report.server_cpu, counted ? o.settle : 0ms, follow_shape);
    long long rss_before = 0, rss_loaded = 0;
    LoadOptions round = run.load;
    if (idle_mode(o)) {
      rss_before = tree_rss_kib(pid);
      round.on_idle_ready = [&] {
        // Let the server finish its side of the last handshakes before reading.
        std::this_thread::sleep_for(200ms);
        rss_loaded = tree_rss_kib(pid);
      };
    }
    // The warm-up is its own run, once per server; measured rounds start at once, or after
    // the settling time, whose messages run_load leaves uncounted.
    round.warmup = counted ? o.settle : 0ms;
    if (!counted) round.duration = o.load.warmup;
    const LoadResult r = run_load(round);
    const double cpu_after = process_cpu_seconds(pid);
    const double core_after = core_busy_seconds(report.server_cpu);
    watch.finish();
    const double cpu = cpu_after - watch.cpu_at_start();
    const double core = core_after - watch.core_at_start();
    if (follow_shape) {
      run.result.threads = watch.shape().threads;
      run.result.processes = watch.shape().processes;
    }
    const double calls = syscalls ? syscalls->stop() : -1;
    add_errors(run.result.errors, r.errors);
    if (!counted) return;
    RoundResult rr;
    rr.messages = idle_mode(o) ? r.held : r.messages;
    rr.rate = r.rate();
    rr.mib_per_second = r.mib_per_second();
    rr.p50_us = static_cast<double>(r.latency.percentile(0.50)) / 1000.0;
    rr.p99_us = static_cast<double>(r.latency.percentile(0.99)) / 1000.0;
    rr.p999_us = static_cast<double>(r.latency.percentile(0.999)) / 1000.0;
    if (r.messages > 0) {
      rr.cpu_us_per_message = cpu * 1e6 / static_cast<double>(r.messages);
      rr.core_us_per_message = core * 1e6 / static_cast<double>(r.messages);
      if (calls >= 0) rr.syscalls_per_message = calls / static_cast<double>(r.messages);
    }
    if (idle_mode(o) && r.held > 0) {
      rr.rss_kib_per_connection =
          static_cast<double>(rss_loaded - rss_before) / static_cast<double>(r.held);
    }
    rr.errors = r.errors.total();
    run.result.rounds.push_back(rr);
  };

  if (idle_mode(o)) {
    // A fresh server per round: a server that keeps its connection slots would otherwise
    // show its growth in the first round only.
    for (Run& run : runs) {
      std::fprintf(stderr, "bench: %s", run.target->name.c_str());
      for (unsigned i = 0; i < o.rounds; ++i) {
        start(run);
        measure(run, true);
        std::fprintf(stderr, " %.2f", merit(o, run.result.rounds.back()));
      }
      std::fprintf(stderr, " (%s)\n", merit_unit(o));
      run.server.reset();
    }
  } else {
    // Every server is started (and warmed up) first; then the rounds go round the servers,
    // each round starting one server further on. The machine's speed drifts over minutes,
    // and a server measured in its own block of minutes would carry that drift; here every
    // server sees the same minutes. Idle servers wait in the kernel and cost nothing.
    for (Run& run : runs) {
      start(run);
      if (o.load.warmup.count() > 0) measure(run, false);
    }
    for (unsigned i = 0; i < o.rounds; ++i) {
      for (std::size_t k = 0; k < runs.size(); ++k)
        measure(runs[(i + k) % runs.size()], true);
    }
    for (Run& run : runs) {
      run.server.reset();
      std::fprintf(stderr, "bench: %s", run.target->name.c_str());
      for (const RoundResult& r : run.result.rounds)
        std::fprintf(stderr, " %.3f", merit(o, r));
      std::fprintf(stderr, " (%s)\n", merit_unit(o));
    }
  }
  for (Run& run : runs) {
    run.result.median = medians(run.result.rounds);
    report.targets.push_back(std::move(run.result));
  }
  return report;
}

namespace {

const TargetResult* find_target(const CompareReport& report, const std::string& name) {
  for (const auto& t : report.targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string ratio_text(const CompareOptions& o, const CompareReport& report,
                       const TargetResult& t) {
  const TargetResult* base = find_target(report, report.baseline);
  if (base == nullptr || merit(o, base->median) <= 0) return "-";
  return fmt::format("{:.2f}x", merit(o, t.median) / merit(o, base->median));
}

std::string describe_load(const CompareOptions& o) {
  if (idle_mode(o)) {
    return fmt::format("idle, {} connections held {:.1f} s", o.load.conns,
                       std::chrono::duration<double>(o.load.duration).count());
  }
  return fmt::format("{}, {} connections, {} B messages, pipeline {}, {:.1f} s rounds",
                     to_string(o.load.mode), o.load.conns, o.load.size, o.load.pipeline,
                     std::chrono::duration<double>(o.load.duration).count());
}

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words)
    text += (text.empty() ? "" : " ") + w;
  return text;
}

// "1 thr", "4 thr, 5 proc": what a target ran with, as seen under load.
std::string shape_text(const TargetResult& t) {
  if (t.threads == 0) return "-";
  if (t.processes > 1) return fmt::format("{} thr, {} proc", t.threads, t.processes);
  return fmt::format("{} thr", t.threads);
}

}  // namespace

void print_report(const CompareOptions& o, const CompareReport& report) {
  fmt::print("{}; median of {} round{}; server on CPU {}, load on CPU {}\n", describe_load(o),
             o.rounds, o.rounds == 1 ? "" : "s", report.server_cpu, report.load_cpu);
  if (!o.serve_args.empty()) fmt::print("sockit serve ... {}\n", join(o.serve_args));
  if (!report.syscall_tool.empty()) {
    fmt::print("system calls counted with {} (the CPU figures carry its cost)\n",
               report.syscall_tool);
  }
  if (idle_mode(o)) {
    fmt::print("{:<12} {:>8} {:>14} {:>10} {:>7}\n", "server", "held", "RSS KiB/conn",
               "vs " + report.baseline, "errors");
    for (const auto& t : report.targets) {
      fmt::print("{:<12} {:>8} {:>14.2f} {:>10} {:>7}\n", t.name, t.median.messages,
                 t.median.rss_kib_per_connection, ratio_text(o, report, t), t.errors.total());
    }
    return;
  }
  const char* rate_unit = o.load.mode == LoadMode::churn ? "conns/s" : "msgs/s";
  const bool calls = !report.syscall_tool.empty();
  fmt::print("{:<12} {:>10} {:>8} {:>9} {:>9} {:>10} {:>11} {:>10} {:>7} {:>14}{}\n", "server",
             rate_unit, "MiB/s", "p50 us", "p99 us", "CPU us/msg", "core us/msg",
             "vs " + report.baseline, "errors", "ran with", calls ? "  syscalls/msg" : "");
  for (const auto& t : report.targets) {
    const auto& m = t.median;
    const std::string per_message =
        calls ? (m.syscalls_per_message >= 0 ? fmt::format(" {:>13.3f}", m.syscalls_per_message)
                                             : fmt::format(" {:>13}", "-"))
              : "";
    fmt::print(
        "{:<12} {:>10.0f} {:>8.1f} {:>9.1f} {:>9.1f} {:>10.3f} {:>11.3f} {:>10} {:>7} {:>14}{}\n",
        t.name, m.rate, m.mib_per_second, m.p50_us, m.p99_us, m.cpu_us_per_message,
        m.core_us_per_message, ratio_text(o, report, t), t.errors.total(), shape_text(t),
        per_message);
  }
}

nlohmann::json report_json(const CompareOptions& o, const CompareReport& report) {
  auto round_json = [](const RoundResult& r) {
    nlohmann::json j{{"rate", r.rate},
                     {"mib_per_second", r.mib_per_second},
                     {"p50_us", r.p50_us},
                     {"p99_us", r.p99_us},
                     {"p999_us", r.p999_us},
                     {"cpu_us_per_message", r.cpu_us_per_message},
                     {"core_us_per_message", r.core_us_per_message},
                     {"rss_kib_per_connection", r.rss_kib_per_connection},
                     {"messages", r.messages},
                     {"errors", r.errors}};
    if (r.syscalls_per_message >= 0) j["syscalls_per_message"] = r.syscalls_per_message;
    return j;
  };
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : report.targets) {
    nlohmann::json rounds = nlohmann::json::array();
    for (const auto& r : t.rounds)
      rounds.push_back(round_json(r));
    targets.push_back({{"name", t.name},
                       {"workers", t.workers},
                       {"threads", t.threads},
                       {"processes", t.processes},
                       {"median", round_json(t.median)},
                       {"rounds", rounds},
                       {"errors",
                        {{"connect", t.errors.connect},
                         {"reset", t.errors.reset},
                         {"eof", t.errors.eof},
                         {"mismatch", t.errors.mismatch},
                         {"timeout", t.errors.timeout},
                         {"other", t.errors.other}}}});
  }
  return {{"mode", std::string(to_string(o.load.mode))},
          {"conns", o.load.conns},
          {"size", o.load.size},
          {"pipeline", o.load.pipeline},
          {"duration_s", std::chrono::duration<double>(o.load.duration).count()},
          {"rounds", o.rounds},
          {"server_cpu", report.server_cpu},
          {"load_cpu", report.load_cpu},
          {"baseline", report.baseline},
          {"serve_args", o.serve_args},
          {"settle_s", std::chrono::duration<double>(o.settle).count()},
          {"syscall_tool", report.syscall_tool},
          {"figure_of_merit", merit_unit(o)},
          {"targets", targets}};
}

std::string report_svg(const CompareOptions& o, const CompareReport& report) {
  constexpr int kLabel = 110, kBarMax = 420, kRow = 28, kTop = 50, kRight = 90;
  double top = 0;
  for (const auto& t : report.targets)
    top = std::max(top, merit(o, t.median));
  if (top <= 0) top = 1;
  const int height = kTop + kRow * static_cast<int>(report.targets.size()) + 30;
  const int width = kLabel + kBarMax + kRight;
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" font-family=\"sans-serif\" font-size=\"13\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{} (lower is better)</text>\n"
      "<text x=\"10\" y=\"38\" fill=\"#555\">{}</text>\n",
      width, height, width, height, xml_escape(merit_unit(o)), xml_escape(describe_load(o)));
  int y = kTop;
  for (const auto& t : report.targets) {
    const double value = merit(o, t.median);
    const int bar = std::max(1, static_cast<int>(std::lround(value / top * kBarMax)));
    const bool ours = std::find(o.archs.begin(), o.archs.end(), t.name) != o.archs.end();
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n"
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n"
        "<text x=\"{}\" y=\"{}\">{:.3f}</text>\n",
        kLabel - 8, y + 17, xml_escape(t.name), kLabel, y + 4, bar, kRow - 8,
        ours ? "#3b7dd8" : "#999999", kLabel + bar + 6, y + 17, value);
    y += kRow;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace sockit::cli::bench
