// sockit cert: a self-signed certificate and key for local TLS development and tests.
//   sockit cert localhost --out /tmp/certs     -> /tmp/certs/localhost.crt, localhost.key
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "commands.hpp"
#include "sockit/tls/certificate.hpp"

namespace sockit::cli {
namespace {

struct CertArgs {
  std::string hostname;
  std::string out = ".";
  int days = 365;
  bool expired = false;
  bool force = false;
};

// Writes the whole file with the given mode (also when it existed with another mode).
bool write_file(const std::string& path, std::string_view text, mode_t mode, bool force,
                std::string& error) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    error = fmt::format("{}: {}{}", path, std::strerror(errno),
                        errno == EEXIST ? " (use --force to replace it)" : "");
    return false;
  }
  bool ok = ::fchmod(fd, mode) == 0;
  while (ok && !text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  if (!ok) error = fmt::format("{}: {}", path, std::strerror(errno));
  if (::close(fd) != 0 && ok) {
    error = fmt::format("{}: {}", path, std::strerror(errno));
    ok = false;
  }
  return ok;
}

int run_cert(const CertArgs& args) {
  if (args.hostname.find('/') != std::string::npos) {
    fmt::print(stderr, "sockit: cert: hostname '{}' cannot name a file\n", args.hostname);
    return exit_usage;
  }
  if (!args.expired && args.days < 1) {
    fmt::print(stderr, "sockit: cert: --days must be at least 1\n");
    return exit_usage;
  }
  PemCertificate pem;
  try {
    pem = make_self_signed_certificate({args.hostname, args.days, args.expired});
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "sockit: cert: {}\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sockit: cert: {}\n", e.what());
    return exit_failure;
  }
  std::string base = args.out + "/" + args.hostname;
  std::string crt = base + ".crt";
  std::string key = base + ".key";
  std::string error;
  // The key first, so a refusal to overwrite leaves no certificate without its key.
  if (!write_file(key, pem.private_key, 0600, args.force, error) ||
      !write_file(crt, pem.certificate, 0644, args.force, error)) {
    fmt::print(stderr, "sockit: cert: {}\n", error);
    return exit_failure;
  }
  fmt::print("{}\n{}\n", crt, key);
  std::string names = args.hostname;
  if (args.hostname != "localhost" && args.hostname != "127.0.0.1" && args.hostname != "::1") {
    names += ", localhost";
  } else {
    names = "localhost";
  }
  std::string validity = args.expired
                             ? "already expired, for tests"
                             : fmt::format("valid {} day{}", args.days, args.days == 1 ? "" : "s");
  fmt::print(stderr,
             "sockit: cert: self-signed for {}, 127.0.0.1 and ::1 ({}); clients trust it with "
             "--ca {}\n",
             names, validity, crt);
  return exit_ok;
}

}  // namespace

void register_cert(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CertArgs>();
  CLI::App* cmd = app.add_subcommand(
      "cert", "Write a self-signed TLS certificate and key (HOST.crt, HOST.key) for local use");
  cmd->add_option("hostname", args->hostname,
                  "Name the certificate is for (also valid for "
                  "localhost, 127.0.0.1 and ::1)")
      ->required();
  cmd->add_option("--out,-o", args->out, "Directory to write into")->capture_default_str();
  cmd->add_option("--days", args->days, "Days of validity")->capture_default_str();
  cmd->add_flag("--expired", args->expired,
                "Make a certificate that expired yesterday (to test that clients refuse it)");
  cmd->add_flag("--force,-f", args->force, "Replace existing files");
  cmd->footer(
      "\nThe key is written with mode 0600. Example:\n"
      "  sockit cert localhost --out certs\n"
      "  sockit serve echo --tls-cert certs/localhost.crt --tls-key certs/localhost.key\n"
      "  openssl s_client -connect 127.0.0.1:7777 -CAfile certs/localhost.crt -quiet\n");
  cmd->callback([args, &exit_code] { exit_code = run_cert(*args); });
}

static const CommandRegistration registration{70, register_cert};

}  // namespace sockit::cli
