// The TLS service decorator fed whatever a client may send, in fuzzer-chosen pieces, then
// EOF: it answers only with whole TLS records, logs at most one line per connection, never
// lets unauthenticated bytes reach the inner session (an echo session, whose answers would
// show), and throws nothing: a bad client is logged and closed.
#include <openssl/err.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "sockit/server/services.hpp"
#include "sockit/tls.hpp"

namespace {

using sockit::TlsContext;
using sockit::TlsService;
using sockit::fuzz::RecordingOutput;

// One server context for the run, with a self-signed certificate written to a temporary
// directory and removed again once the context has loaded it.
const TlsContext& context() {
  static const TlsContext ctx = [] {
    const auto pem = sockit::make_self_signed_certificate({"localhost", 30, false});
    std::string dir = "/tmp/sockit-fuzz-tls-XXXXXX";
    FUZZ_CHECK(::mkdtemp(dir.data()) != nullptr);
    const std::string cert = dir + "/cert.pem";
    const std::string key = dir + "/key.pem";
    std::ofstream(cert) << pem.certificate;
    std::ofstream(key) << pem.private_key;
    TlsContext loaded = TlsContext::server({cert, key, {}});
    ::unlink(cert.c_str());
    ::unlink(key.c_str());
    ::rmdir(dir.c_str());
    return loaded;
  }();
  return ctx;
}

// The bytes are whole TLS records: content type 20..24, a length within the limit of RFC 8446
// (2^14 plus expansion). Not the version: refusing a hello whose version is too low, OpenSSL
// answers with the version the client wrote (0x0103 for one), in an alert of 7 bytes.
void check_records(std::string_view bytes) {
  while (!bytes.empty()) {
    FUZZ_CHECK(bytes.size() >= 5);
    const auto type = static_cast<unsigned char>(bytes[0]);
    FUZZ_CHECK(type >= 20 && type <= 24);
    const std::size_t length =
        static_cast<unsigned char>(bytes[3]) * 256U + static_cast<unsigned char>(bytes[4]);
    FUZZ_CHECK(length <= 16384 + 256);
    FUZZ_CHECK(bytes.size() >= 5 + length);
    bytes.remove_prefix(5 + length);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sockit::fuzz::SplitInput input = sockit::fuzz::split_input(data, size);
  std::vector<std::string> log;
  auto service =
      std::make_shared<TlsService>(std::make_shared<sockit::server::EchoService>(), context(),
                                   [&log](std::string_view line) { log.emplace_back(line); });
  const sockit::server::ConnectionInfo info{
      sockit::Address::parse("127.0.0.1", 40000), sockit::Address::parse("127.0.0.1", 7777), {}};
  std::unique_ptr<sockit::server::Session> session = service->open(info);
  RecordingOutput out;
  session->on_open(out);
  FUZZ_CHECK(out.timers.size() == 1);  // the handshake's deadline
  for (std::string_view piece : sockit::fuzz::pieces(input.choice, input.message)) {
    if (out.closed) break;
    session->on_data(piece, out);
  }
  if (!out.closed) session->on_eof(out);
  // The handshake cannot finish without a client's keys: a client that has sent anything
  // and then EOF was logged or is still waiting, and nothing it sent was echoed.
  check_records(out.written);
  FUZZ_CHECK(log.size() <= 1);
  session->on_close();
  FUZZ_CHECK(log.size() <= 1);
  for (const auto& line : log) {
    FUZZ_CHECK(line.find("127.0.0.1:40000") != std::string::npos);
  }
  ERR_clear_error();
  return 0;
}
