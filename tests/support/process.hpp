// Test support: run a program (our CLI, an example, nc, socat, ruby) as a child process
// with pipes on stdin/stdout/stderr, read its output with deadlines, and make sure it is
// gone when the test ends (only the children we started, by their PID).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::test {

using namespace std::chrono_literals;

// Path of a program built by this tree: binary("bin/sockit"), binary("bin/examples/x").
std::string binary(std::string_view relative);
// Path of a file in the source tree.
std::string source(std::string_view relative);
// True when `name` is an executable on PATH (nc, socat, ruby...).
bool have_tool(std::string_view name);

struct ExitStatus {
  bool exited = false;  // true: normal exit with `code`; false: killed by `signal`
  int code = -1;
  int signal = 0;
  bool success() const noexcept { return exited && code == 0; }
};

class Process {
 public:
  // Starts argv[0] (searched on PATH) with pipes for stdin, stdout and stderr.
  // `env` entries "NAME=value" are added to the environment, replacing the inherited ones.
  explicit Process(std::vector<std::string> argv, std::vector<std::string> env = {});
  Process(Process&&) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  ~Process();  // SIGKILL and reap if still running

  pid_t pid() const noexcept { return pid_; }
  void write_stdin(std::string_view bytes);
  void close_stdin();

  // Reads until `needle` appears in that stream's accumulated output, or the timeout.
  // Returns true when it appeared. stdout()/stderr() give everything read so far.
  bool wait_stdout(std::string_view needle, std::chrono::milliseconds timeout = 20s);
  bool wait_stderr(std::string_view needle, std::chrono::milliseconds timeout = 20s);
  const std::string& stdout_text() const noexcept { return out_; }
  const std::string& stderr_text() const noexcept { return err_; }

  // Reads both streams to EOF and waits for exit (SIGKILL after the timeout).
  ExitStatus finish(std::chrono::milliseconds timeout = 20s);
  // Waits for exit without killing; nullopt if still running at the timeout.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  void signal(int sig);
  bool running();
  // One round of reading whatever stdout/stderr have; false once both are closed.
  bool pump(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  std::optional<ExitStatus> status_;
};

// Parses the port from a "listening on HOST:PORT" line in the process's stderr.
std::optional<std::uint16_t> wait_listening_port(Process& process,
                                                 std::chrono::milliseconds timeout = 20s);

}  // namespace sockit::test
