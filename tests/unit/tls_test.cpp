// TLS: self-signed certificates, contexts and their errors, the TlsService decorator driven
// sans-I/O by an in-memory OpenSSL client (partial records, close_notify, garbage,
// renegotiation, Peer sends), and TlsClient against a real in-process Server.
// sockit-test-labels: threaded
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sockit/error.hpp"
#include "sockit/server/blocking_service.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/services.hpp"
#include "sockit/stream.hpp"
#include "sockit/tls.hpp"
#include "support/fake_runtime.hpp"
#include "support/temp_dir.hpp"

namespace sockit {
namespace {

using namespace std::chrono_literals;
using server::ConnectionInfo;
using server::Output;
using server::Peer;
using server::Session;

using sockit::test::TempDir;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// HOST.crt and HOST.key in `dir`.
struct CertFiles {
  std::string cert;
  std::string key;
};

CertFiles make_cert(const TempDir& dir, const std::string& host, bool expired = false) {
  auto pem = make_self_signed_certificate({host, 30, expired});
  CertFiles files{dir.file(host + (expired ? "-expired" : "") + ".crt"),
                  dir.file(host + (expired ? "-expired" : "") + ".key")};
  write_text(files.cert, pem.certificate);
  write_text(files.key, pem.private_key);
  return files;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SelfSignedCertificate, IsPemWithTheNamesAndVerifiesAgainstItself) {
  auto pem = make_self_signed_certificate({"example.test", 10, false});
  EXPECT_NE(pem.certificate.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(pem.private_key.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  BIO* bio = BIO_new_mem_buf(pem.certificate.data(), static_cast<int>(pem.certificate.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert, "example.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(cert, "other.test", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_cmp_current_time(X509_get0_notAfter(cert)), 1);  // in the future
  X509_free(cert);

  auto old = make_self_signed_certificate({"example.test", 1, true});
  bio = BIO_new_mem_buf(old.certificate.data(), static_cast<int>(old.certificate.size()));
  cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_cmp_current_time(X509_get0_notAfter(cert)), -1);  // in the past
  X509_free(cert);

  EXPECT_THROW(make_self_signed_certificate({"", 10, false}), std::invalid_argument);
  EXPECT_THROW(make_self_signed_certificate({"x", 0, false}), std::invalid_argument);
}

TEST(TlsContext, ErrorsNameTheFile) {
  TempDir dir;
  CertFiles a = make_cert(dir, "a.test");
  CertFiles b = make_cert(dir, "b.test");
  std::string missing = dir.file("missing.crt");
  EXPECT_EQ(error_of([&] {
              TlsContext::server({missing, a.key, {}});
            }),
            "tls load certificate " + missing + ": No such file or directory");
  write_text(dir.file("junk.crt"), "not a certificate\n");
  std::string junk = error_of([&] { TlsContext::server({dir.file("junk.crt"), a.key, {}}); });
  EXPECT_EQ(junk.rfind("tls load certificate " + dir.file("junk.crt") + ": ", 0), 0u) << junk;
  std::string mismatch = error_of([&] { TlsContext::server({a.cert, b.key, {}}); });
  EXPECT_NE(mismatch.find(b.key), std::string::npos) << mismatch;
  EXPECT_EQ(error_of([&] {
              TlsContext::client({missing, true, {}, {}});
            }),
            "tls load CA file " + missing + ": No such file or directory");
  try {
    TlsContext::client({missing, true, {}, {}});
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), tls_errc::configuration);
  }

  auto server = TlsContext::server({a.cert, a.key, {}});
  EXPECT_TRUE(server.is_server());
  EXPECT_FALSE(server.verifies_peer());
  auto client = TlsContext::client({a.cert, true, {}, {}});
  EXPECT_FALSE(client.is_server());
  EXPECT_TRUE(client.verifies_peer());
  EXPECT_FALSE(TlsContext::client({{}, false, {}, {}}).verifies_peer());
  EXPECT_EQ(SSL_CTX_get_min_proto_version(client.native()), TLS1_2_VERSION);
  EXPECT_NE(SSL_CTX_get_options(server.native()) & SSL_OP_NO_RENEGOTIATION, 0u);
}

// ---- TlsService driven by hand: the architecture's side is a FakeOutput. ----

class FakePeer final : public Peer {
 public:
  void send(std::string bytes) override {
    std::lock_guard lock(mutex);
    queued += bytes;
  }
  void close() override {
    std::lock_guard lock(mutex);
    closed = true;
  }
  std::mutex mutex;
  std::string queued;
  bool closed = false;
};

class FakeOutput final : public test::FakeRuntime {
 public:
  void write(std::string_view bytes) override { written.append(bytes); }
  void close() override { closed = true; }
  bool closing() const noexcept override { return closed; }
  std::shared_ptr<Peer> peer() override {
    if (!fake_peer) fake_peer = std::make_shared<FakePeer>();
    return fake_peer;
  }
  std::string take() { return std::exchange(written, {}); }

  std::string written;
  bool closed = false;
  std::shared_ptr<FakePeer> fake_peer;
};

// An OpenSSL client whose "network" is two strings.
class MemoryClient {
 public:
  explicit MemoryClient(const std::string& ca_file, int max_version = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (max_version != 0) SSL_CTX_set_max_proto_version(ctx_, max_version);
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
    SSL_set1_host(ssl_, "localhost");
  }
  ~MemoryClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  MemoryClient(const MemoryClient&) = delete;
  MemoryClient& operator=(const MemoryClient&) = delete;

  SSL* ssl() { return ssl_; }
  std::string take_output() {
    std::string bytes;
    char buffer[4096];
    int n;
    while ((n = BIO_read(out_, buffer, sizeof buffer)) > 0)
      bytes.append(buffer, static_cast<std::size_t>(n));
    return bytes;
  }
  void give_input(std::string_view bytes) {
    if (!bytes.empty()) BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
  }
  // Whatever plaintext is available; sets `closed` at close_notify.
  std::string read_plain() {
    std::string text;
    char buffer[4096];
    for (;;) {
      std::size_t n = 0;
      if (SSL_read_ex(ssl_, buffer, sizeof buffer, &n) == 1) {
        text.append(buffer, n);
        continue;
      }
      int err = SSL_get_error(ssl_, 0);
      if (err == SSL_ERROR_ZERO_RETURN) closed = true;
      ERR_clear_error();
      return text;
    }
  }
  void write_plain(std::string_view text) {
    std::size_t n = 0;
    ASSERT_EQ(SSL_write_ex(ssl_, text.data(), text.size(), &n), 1);
  }
  bool closed = false;

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;
  BIO* out_ = nullptr;
};

struct Harness {
  TempDir dir;
  CertFiles files = make_cert(dir, "localhost");
  std::vector<std::string> log;
  std::shared_ptr<TlsService> service;
  ConnectionInfo info{Address::parse("127.0.0.1", 40000), Address::parse("127.0.0.1", 7777), {}};
  FakeOutput out;
  std::unique_ptr<Session> session;

  explicit Harness(
      std::shared_ptr<server::Service> inner = std::make_shared<server::EchoService>()) {
    service = std::make_shared<TlsService>(
        std::move(inner), TlsContext::server({files.cert, files.key, {}}),
        [this](std::string_view line) { log.emplace_back(line); });
    session = service->open(info);
    session->on_open(out);
  }

  // Moves bytes both ways until neither side has anything to say; `chunk` splits what the
  // client sends into pieces of that size (1: byte by byte).
  void exchange(MemoryClient& client, std::size_t chunk = 1 << 20) {
    for (int round = 0; round < 50; ++round) {
      std::string to_server = client.take_output();
      for (std::size_t i = 0; i < to_server.size(); i += chunk) {
        session->on_data(std::string_view(to_server).substr(i, chunk), out);
      }
      std::string to_client = out.take();
      client.give_input(to_client);
      if (to_server.empty() && to_client.empty()) return;
    }
  }

  void handshake(MemoryClient& client, std::size_t chunk = 1 << 20) {
    for (int round = 0; round < 20 && SSL_is_init_finished(client.ssl()) == 0; ++round) {
      ERR_clear_error();
      SSL_do_handshake(client.ssl());
      exchange(client, chunk);
    }
    ASSERT_EQ(SSL_is_init_finished(client.ssl()), 1)
        << "verify: " << SSL_get_verify_result(client.ssl());
  }
};

TEST(TlsService, EchoesLinesSplitIntoSingleBytes) {
  Harness h;
  MemoryClient client(h.files.cert);
  h.handshake(client, 1);
  client.write_plain("hello\nwor");
  client.write_plain("ld\n");
  h.exchange(client, 1);  // every TLS record arrives one byte at a time
  EXPECT_EQ(client.read_plain(), "hello\nworld\n");
  EXPECT_FALSE(h.out.closed);
  EXPECT_TRUE(h.log.empty());
}

TEST(TlsService, CloseNotifyEndsTheSessionWithCloseNotify) {
  Harness h;
  MemoryClient client(h.files.cert);
  h.handshake(client);
  client.write_plain("last\n");
  SSL_shutdown(client.ssl());  // close_notify: echo's on_eof closes its side
  h.exchange(client);
  EXPECT_EQ(client.read_plain(), "last\n");
  EXPECT_TRUE(client.closed) << "the server answered with close_notify";
  EXPECT_TRUE(h.out.closed);
  h.session->on_close();
}

TEST(TlsService, GreetingThenCloseArrivesBeforeCloseNotify) {
  Harness h(std::make_shared<server::HelloService>());
  MemoryClient client(h.files.cert);
  h.handshake(client);
  h.exchange(client);
  EXPECT_EQ(client.read_plain(), "Hello, world!\n");
  EXPECT_TRUE(client.closed);
  EXPECT_TRUE(h.out.closed);
}

TEST(TlsService, PlaintextClientIsLoggedAndClosed) {
  Harness h;
  h.session->on_data("GET / HTTP/1.1\r\nHost: x\r\n\r\n", h.out);
  EXPECT_TRUE(h.out.closed);
  ASSERT_EQ(h.log.size(), 1u);
  EXPECT_EQ(h.log[0].rfind("tls handshake with 127.0.0.1:40000: ", 0), 0u) << h.log[0];
  EXPECT_GT(h.log[0].size(), std::string("tls handshake with 127.0.0.1:40000: ").size());
  h.session->on_data("more", h.out);  // ignored after the failure
  EXPECT_EQ(h.log.size(), 1u);
  h.session->on_close();
}

TEST(TlsService, ConnectAndLeaveIsNotLoggedButHalfAHandshakeIs) {
  Harness quiet;
  quiet.session->on_eof(quiet.out);
  EXPECT_TRUE(quiet.out.closed);
  EXPECT_TRUE(quiet.log.empty());

  Harness half;
  MemoryClient client(half.files.cert);
  SSL_do_handshake(client.ssl());
  std::string hello = client.take_output();
  half.session->on_data(std::string_view(hello).substr(0, 10), half.out);
  half.session->on_eof(half.out);
  ASSERT_EQ(half.log.size(), 1u);
  EXPECT_EQ(half.log[0], "tls handshake with 127.0.0.1:40000: connection closed by peer");
}

TEST(TlsService, RenegotiationIsRefused) {
  Harness h;
  MemoryClient client(h.files.cert, TLS1_2_VERSION);
  h.handshake(client);
  ASSERT_EQ(SSL_version(client.ssl()), TLS1_2_VERSION);
  ASSERT_EQ(SSL_renegotiate(client.ssl()), 1);
  SSL_do_handshake(client.ssl());
  h.exchange(client);
  ERR_clear_error();
  SSL_do_handshake(client.ssl());
  h.exchange(client);
  client.read_plain();
  // The server never answered the new hello with a handshake of its own.
  EXPECT_EQ(SSL_renegotiate_pending(client.ssl()), 1);
  EXPECT_EQ(SSL_num_renegotiations(client.ssl()), 1);
  ERR_clear_error();
}

TEST(TlsService, PeerSendsAreEncryptedInOrder) {
  Harness h;
  MemoryClient client(h.files.cert);
  h.handshake(client);

  // An inner session that hands its Peer out, like the chat room does.
  std::shared_ptr<Peer> peer;
  class Grab final : public server::Service {
   public:
    explicit Grab(std::shared_ptr<Peer>* slot) : slot_(slot) {}
    std::string_view name() const override { return "grab"; }
    std::uint16_t default_port() const override { return 0; }
    std::unique_ptr<Session> open(const ConnectionInfo&) override {
      class S final : public Session {
       public:
        explicit S(std::shared_ptr<Peer>* slot) : slot_(slot) {}
        void on_data(std::string_view bytes, Output& out) override {
          out.write("direct:");
          out.write(bytes);
          *slot_ = out.peer();
          out.write("after-peer\n");
        }
        std::shared_ptr<Peer>* slot_;
      };
      return std::make_unique<S>(slot_);
    }
    std::shared_ptr<Peer>* slot_;
  };
  Harness g(std::make_shared<Grab>(&peer));
  MemoryClient c2(g.files.cert);
  g.handshake(c2);
  c2.write_plain("x\n");
  g.exchange(c2);
  ASSERT_TRUE(peer);
  std::thread other([&] { peer->send("from another thread\n"); });
  other.join();
  peer->close();
  // The connection's thread moves what the real Peer queued onto the wire, in order.
  std::string wire = g.out.take();
  {
    std::lock_guard lock(g.out.fake_peer->mutex);
    wire += g.out.fake_peer->queued;
    EXPECT_TRUE(g.out.fake_peer->closed);
  }
  c2.give_input(wire);
  EXPECT_EQ(c2.read_plain(), "direct:x\nafter-peer\nfrom another thread\n");
  EXPECT_TRUE(c2.closed);
  g.session->on_close();
  peer->send("after close: dropped\n");
}

// The inner session of an outbound TLS connection: records what it is told.
class RecordingSession final : public Session {
 public:
  void on_open(Output& out) override {
    opened = true;
    out.write("ping\n");
  }
  void on_data(std::string_view bytes, Output&) override { received += bytes; }
  void on_connect_failed(const std::error_code& error, std::string_view why) override {
    failure = error;
    reason = why;
  }
  void on_close() override { closed = true; }

  bool opened = false;
  bool closed = false;
  std::string received;
  std::error_code failure;
  std::string reason;
};

// A client session and a server session talking through two FakeOutputs.
struct ClientServerPair {
  Harness server;
  FakeOutput client_out;
  RecordingSession* inner = nullptr;
  std::unique_ptr<Session> client;

  // `ca`: the CA file the client trusts; empty: the server's own certificate.
  explicit ClientServerPair(const std::string& ca = {}) {
    auto recording = std::make_unique<RecordingSession>();
    inner = recording.get();
    auto context = TlsContext::client({ca.empty() ? server.files.cert : ca, true, {}, {}});
    client = tls_client_session(std::move(recording), context, "localhost");
    client->on_open(client_out);
  }
  void exchange() {
    for (int round = 0; round < 20; ++round) {
      std::string to_server = client_out.take();
      if (!to_server.empty()) server.session->on_data(to_server, server.out);
      std::string to_client = server.out.take();
      if (!to_client.empty()) client->on_data(to_client, client_out);
      if (to_server.empty() && to_client.empty()) return;
    }
  }
};

TEST(TlsClientSession, HandshakesThenCarriesPlaintextBothWays) {
  ClientServerPair trusted;
  trusted.exchange();
  EXPECT_TRUE(trusted.inner->opened) << trusted.inner->reason;
  EXPECT_EQ(trusted.inner->received, "ping\n") << "the echo server sent back what we wrote";
  EXPECT_EQ(trusted.client_out.timers.size(), 0u) << "the handshake timer was cancelled";
}

TEST(TlsClientSession, AnUntrustedServerReachesTheInnerSessionAsAConnectFailure) {
  TempDir dir;
  ClientServerPair pair(make_cert(dir, "localhost").cert);  // a certificate of another key
  pair.exchange();
  EXPECT_FALSE(pair.inner->opened);
  EXPECT_EQ(pair.inner->failure, make_error_code(tls_errc::handshake_failed));
  EXPECT_NE(pair.inner->reason.find("certificate verify failed"), std::string::npos)
      << pair.inner->reason;
  EXPECT_TRUE(pair.client_out.closed);
  pair.client->on_close();
  EXPECT_TRUE(pair.inner->closed) << "on_close follows the failure";
}

TEST(TlsClientSession, ASilentServerIsCutByTheHandshakeTimer) {
  auto recording = std::make_unique<RecordingSession>();
  RecordingSession* inner = recording.get();
  FakeOutput out;
  auto client = tls_client_session(std::move(recording), TlsContext::client({}), "localhost");
  client->on_open(out);
  EXPECT_FALSE(out.take().empty()) << "the client hello went out at once";
  ASSERT_EQ(out.timers.size(), 1u);
  EXPECT_EQ(out.timers[0].after, TlsService::default_handshake_timeout);
  out.fire(out.timers[0].id, *client);
  EXPECT_TRUE(out.closed);
  EXPECT_NE(inner->reason.find("no handshake within"), std::string::npos) << inner->reason;
}

TEST(TlsService, RefusesBlockingServicesAndClientContexts) {
  TempDir dir;
  CertFiles files = make_cert(dir, "localhost");
  auto blocking = server::make_blocking_service("raw", 1, [](Socket&) {});
  EXPECT_THROW(TlsService(blocking, TlsContext::server({files.cert, files.key, {}})),
               std::invalid_argument);
  EXPECT_THROW(TlsService(std::make_shared<server::EchoService>(), TlsContext::client()),
               std::invalid_argument);
}

// ---- TlsClient against a real Server running TlsService. ----

class InProcessServer {
 public:
  InProcessServer(server::Architecture arch, const CertFiles& files) {
    server::ServerOptions options;
    options.architecture = arch;
    options.port = 0;
    options.workers = 2;
    options.handle_signals = false;
    options.log_level = server::LogLevel::quiet;
    auto service = std::make_shared<TlsService>(std::make_shared<server::EchoService>(),
                                                TlsContext::server({files.cert, files.key, {}}));
    server_ = std::make_unique<server::Server>(service, options);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~InProcessServer() {
    server_->stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->local_address().port(); }

 private:
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
};

class TlsClientOnArchitecture : public ::testing::TestWithParam<server::Architecture> {};

TEST_P(TlsClientOnArchitecture, ReadsAndWritesLinesThroughAStream) {
  TempDir dir;
  CertFiles files = make_cert(dir, "localhost");
  InProcessServer srv(GetParam(), files);
  auto ctx = TlsContext::client({files.cert, true, {}, {}});
  auto tls = TlsClient::connect("localhost", srv.port(), ctx, 10s);
  EXPECT_EQ(tls->transport().protocol(), "TLSv1.3");
  tls->stream().write_line("hello over tls", 10s);
  EXPECT_EQ(tls->stream().read_line(1024, 10s), "hello over tls");
  // Lines of 60 KiB (under the echo's 64 KiB line limit): several records each way.
  std::string big(60 * 1024, 'x');
  for (int i = 0; i < 4; ++i) {
    tls->stream().write_line(big, 10s);
    auto line = tls->stream().read_line(big.size() + 1, 10s);
    ASSERT_TRUE(line && *line == big) << "line " << i << " came back wrong";
  }
  tls->stream().close_write();  // close_notify: the echo closes its side with one
  EXPECT_EQ(tls->stream().read_line(1024, 10s), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Threads, TlsClientOnArchitecture,
                         ::testing::Values(server::Architecture::thread,
                                           server::Architecture::reactor,
                                           server::Architecture::hybrid),
                         [](const auto& param_info) {
                           return std::string(server::to_string(param_info.param));
                         });

TEST(TlsClient, VerificationFailuresSayWhy) {
  TempDir dir;
  CertFiles good = make_cert(dir, "localhost");
  CertFiles other = make_cert(dir, "other.test");
  CertFiles expired = make_cert(dir, "localhost", true);
  InProcessServer srv(server::Architecture::reactor, good);
  InProcessServer old(server::Architecture::reactor, expired);
  std::string at = "tls handshake with 127.0.0.1:" + std::to_string(srv.port()) + ": ";

  auto wrong_ca = TlsContext::client({other.cert, true, {}, {}});
  EXPECT_EQ(error_of([&] { TlsClient::connect("127.0.0.1", srv.port(), wrong_ca, 10s); }),
            at + "certificate verify failed (self-signed certificate)");

  auto right_ca = TlsContext::client({good.cert, true, {}, {}});
  EXPECT_EQ(error_of([&] {
              TlsClient(TcpSocket::connect("127.0.0.1", srv.port()), right_ca, "wrong.test", 10s);
            }),
            at + "certificate verify failed (hostname mismatch)");

  auto expired_ca = TlsContext::client({expired.cert, true, {}, {}});
  EXPECT_EQ(error_of([&] { TlsClient::connect("localhost", old.port(), expired_ca, 10s); }),
            "tls handshake with 127.0.0.1:" + std::to_string(old.port()) +
                ": certificate verify failed (certificate has expired)");
  try {
    TlsClient::connect("localhost", old.port(), expired_ca, 10s);
    ADD_FAILURE() << "expired certificate accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), tls_errc::certificate_rejected);
  }

  // An IP address is checked against the certificate's IP entries.
  EXPECT_NO_THROW(TlsClient::connect("127.0.0.1", srv.port(), right_ca, 10s));
  // --insecure accepts anything.
  auto insecure = TlsContext::client({{}, false, {}, {}});
  EXPECT_NO_THROW(TlsClient::connect("127.0.0.1", old.port(), insecure, 10s));
}

// A server that requires client certificates: ours passes, a client without one fails.
TEST(TlsTransport, ClientCertificatesWhenTheServerAsks) {
  TempDir dir;
  CertFiles server_files = make_cert(dir, "localhost");
  CertFiles client_files = make_cert(dir, "client.test");
  auto server_ctx = TlsContext::server({server_files.cert, server_files.key, client_files.cert});
  EXPECT_TRUE(server_ctx.verifies_peer());
  for (bool with_cert : {true, false}) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    Socket a = Socket::adopt(fds[0]);
    Socket b = Socket::adopt(fds[1]);
    std::string server_error;
    std::thread server([&] {
      try {
        TlsTransport transport(b, server_ctx);
        transport.handshake(10s);
        Stream stream(transport);
        stream.write_line("welcome", 10s);
      } catch (const std::exception& e) {
        server_error = e.what();
      }
    });
    TlsClientOptions options{server_files.cert, true, {}, {}};
    if (with_cert) {
      options.cert_file = client_files.cert;
      options.key_file = client_files.key;
    }
    std::string client_error;
    try {
      TlsTransport transport(a, TlsContext::client(options), "localhost");
      transport.handshake(10s);
      Stream stream(transport);
      EXPECT_EQ(stream.read_line(100, 10s), "welcome");
    } catch (const std::exception& e) {
      client_error = e.what();
    }
    a.close();  // a failed client must not leave the server waiting
    server.join();
    if (with_cert) {
      EXPECT_EQ(client_error, "");
      EXPECT_EQ(server_error, "");
    } else {
      EXPECT_NE(server_error.find("tls handshake with"), std::string::npos) << server_error;
      EXPECT_NE(server_error.find("certificate"), std::string::npos) << server_error;
    }
  }
}

// Both ends as TlsTransports (the server side too, for blocking code that owns its socket),
// over a socketpair in non-blocking mode, each under a Stream.
TEST(TlsTransport, ServerAndClientStreamsOverASocketpair) {
  TempDir dir;
  CertFiles files = make_cert(dir, "localhost");
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  Socket a = Socket::adopt(fds[0]);
  Socket b = Socket::adopt(fds[1]);
  a.set_nonblocking(true);
  b.set_nonblocking(true);
  auto server_ctx = TlsContext::server({files.cert, files.key, {}});
  auto client_ctx = TlsContext::client({files.cert, true, {}, {}});
  std::string server_error;
  std::thread server([&] {
    try {
      TlsTransport transport(b, server_ctx);
      Stream stream(transport);  // the handshake runs inside the first read
      while (auto line = stream.read_line(1 << 20, 10s))
        stream.write_line("got " + std::to_string(line->size()), 10s);
      stream.close_write();
    } catch (const std::exception& e) {
      server_error = e.what();
    }
  });
  {
    TlsTransport transport(a, client_ctx, "localhost");
    transport.handshake(10s);
    EXPECT_TRUE(transport.handshake_done());
    Stream stream(transport);
    std::string big(300 * 1024, 'z');  // larger than both socket buffers
    stream.write_line(big, 10s);
    EXPECT_EQ(stream.read_line(100, 10s), "got " + std::to_string(big.size()));
    stream.write_line("x", 10s);
    EXPECT_EQ(stream.read_line(100, 10s), "got 1");
    stream.close_write();
    EXPECT_EQ(stream.read_line(100, 10s), std::nullopt);
  }
  server.join();
  EXPECT_EQ(server_error, "");
}

TEST(TlsClient, PlaintextServerFailsTheHandshakeAndTimeoutsHold) {
  // A listener that accepts and says nothing: the handshake deadline must fire.
  Socket listener(AF_INET, SOCK_STREAM);
  listener.bind(Address::parse("127.0.0.1", 0));
  listener.listen();
  auto ctx = TlsContext::client({{}, false, {}, {}});
  TcpSocket socket = TcpSocket::connect(listener.local_address(), 10s);
  Accepted silent = listener.accept(10s);
  auto started = std::chrono::steady_clock::now();
  try {
    TlsClient client(std::move(socket), ctx, "localhost", 200ms);
    ADD_FAILURE() << "handshake with a silent server succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("tls handshake with 127.0.0.1:", 0), 0u) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);

  // A server answering in plaintext.
  TcpSocket again = TcpSocket::connect(listener.local_address(), 10s);
  Accepted accepted = listener.accept(10s);
  accepted.socket.send("220 plain text service ready\r\n");
  accepted.socket.close();
  std::string message = error_of([&] { TlsClient(std::move(again), ctx, "localhost", 10s); });
  EXPECT_EQ(message.rfind("tls handshake with 127.0.0.1:", 0), 0u) << message;
}

// A client and a server TlsTransport over a socketpair, handshaken in this thread by
// stepping both sides in turn (every read and write is non-blocking underneath).
struct TransportPair {
  TempDir dir;
  CertFiles files = make_cert(dir, "localhost");
  TlsContext server_ctx = TlsContext::server({files.cert, files.key, {}});
  TlsContext client_ctx = TlsContext::client({files.cert, true, {}, {}});
  Socket client_socket;
  Socket server_socket;
  std::unique_ptr<TlsTransport> client;
  std::unique_ptr<TlsTransport> server;

  TransportPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client_socket = Socket::adopt(fds[0]);
    server_socket = Socket::adopt(fds[1]);
    client = std::make_unique<TlsTransport>(client_socket, client_ctx, "localhost");
    server = std::make_unique<TlsTransport>(server_socket, server_ctx);
    for (int i = 0; i < 100 && !(client->handshake_done() && server->handshake_done()); ++i) {
      client->handshake_step();
      server->handshake_step();
    }
    EXPECT_TRUE(client->handshake_done() && server->handshake_done());
  }

  // Everything the server can read now; `eof` set at close_notify.
  std::string server_read(bool& eof) {
    std::string text;
    char buffer[16 * 1024];
    for (;;) {
      IoResult r = server->read_some(buffer);
      if (r.ok()) {
        text.append(buffer, r.bytes);
        continue;
      }
      eof = r.eof();
      return text;
    }
  }
};

// A TLS failure after the handshake keeps OpenSSL's reason through the Stream, whose
// message names its own operation; a socketpair peer is named "(unix)".
TEST(TlsTransport, StreamErrorsKeepTheTlsReason) {
  TransportPair pair;
  // An application-data record that cannot decrypt, written under TLS's feet.
  std::string forged("\x17\x03\x03\x00\x20", 5);
  forged.append(32, 'j');
  pair.server_socket.send(forged);
  Stream stream(*pair.client);
  try {
    (void)stream.read_line(100, 10s);
    ADD_FAILURE() << "a forged record was accepted";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_EQ(e.code(), tls_errc::protocol_error) << what;
    EXPECT_EQ(what.rfind("read_line (unix): ", 0), 0u) << what;
    EXPECT_NE(what.find("bad record mac"), std::string::npos) << what;
  }
}

// A write that is stuck on a full socket waits for writable even after a read (which
// waits for readable) came in between, and the read is not sent to wait for writable.
TEST(TlsTransport, WaitIsForTheOperationAsked) {
  TransportPair pair;
  const std::string chunk(64 * 1024, 'w');
  IoResult w;
  for (int i = 0; i < 10000; ++i) {
    w = pair.client->write_some(chunk);
    if (w.would_block()) break;
  }
  ASSERT_TRUE(w.would_block()) << "the socketpair never filled up";
  char buffer[1024];
  // Nothing to read yet (the session tickets aside): the read would block on readable.
  IoResult r{};
  for (int i = 0; i < 10 && !(r = pair.client->read_some(buffer)).would_block(); ++i) {
  }
  ASSERT_TRUE(r.would_block());
  EXPECT_FALSE(pair.client->wait(Direction::read, Deadline(50ms)));
  EXPECT_FALSE(pair.client->wait(Direction::write, Deadline(50ms)));

  // Now the socket is readable but still not writable.
  ASSERT_TRUE(pair.server->write_some("ping\n").ok());
  EXPECT_TRUE(pair.client->wait(Direction::read, Deadline(10s)));
  EXPECT_FALSE(pair.client->wait(Direction::write, Deadline(200ms)))
      << "a stuck write was told the socket is ready because a read needed readable";

  // The server drains the client's writes: the write may go on.
  bool eof = false;
  EXPECT_FALSE(pair.server_read(eof).empty());
  EXPECT_TRUE(pair.client->wait(Direction::write, Deadline(10s)));
}

// Destroying an established transport sends close_notify (best effort), so the peer sees
// a clean end of stream; a transport whose socket was closed first sends nothing.
TEST(TlsTransport, DestructorSendsCloseNotify) {
  {
    TransportPair pair;
    ASSERT_TRUE(pair.client->write_some("bye\n").ok());
    pair.client.reset();
    bool eof = false;
    EXPECT_EQ(pair.server_read(eof), "bye\n");
    EXPECT_TRUE(eof) << "no close_notify arrived";
  }
  {
    TransportPair pair;
    const int old_fd = pair.client_socket.fd();
    pair.client_socket.close();
    // An unrelated socket gets the old number (the lowest free descriptor usually is the
    // old one; when it is not, the socket is moved there).
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    Socket reused = Socket::adopt(fds[0]);
    Socket other_end = Socket::adopt(fds[1]);
    if (reused.fd() != old_fd) {
      ASSERT_EQ(::dup3(reused.fd(), old_fd, O_CLOEXEC), old_fd);
      reused = Socket::adopt(old_fd);
    }
    ASSERT_EQ(reused.fd(), old_fd);
    pair.client.reset();
    char buffer[256];
    EXPECT_TRUE(other_end.read_nonblock(buffer).would_block())
        << "close_notify went to an unrelated socket that reused the descriptor";
    // The server sees a TCP-style close without close_notify.
    EXPECT_THROW(
        {
          for (int i = 0; i < 10; ++i) {
            if (pair.server->read_some(buffer).eof()) break;
          }
        },
        Error);
  }
}

// Unix clients are unnamed: the server's TLS log names the socket path instead.
TEST(TlsService, UnixPeersAreNamedByTheSocketPath) {
  TempDir dir;
  CertFiles files = make_cert(dir, "localhost");
  std::vector<std::string> log;
  TlsService service(std::make_shared<server::EchoService>(),
                     TlsContext::server({files.cert, files.key, {}}),
                     [&](std::string_view line) { log.emplace_back(line); });
  sockaddr_un unnamed{};
  unnamed.sun_family = AF_UNIX;
  const std::string path = dir.file("echo.sock");
  for (const Address& local : {Address::unix_path(path), Address()}) {
    ConnectionInfo info{Address(reinterpret_cast<const sockaddr*>(&unnamed),
                                static_cast<socklen_t>(sizeof(sa_family_t))),
                        local,
                        {}};
    FakeOutput out;
    auto session = service.open(info);
    session->on_open(out);
    session->on_data("GET / HTTP/1.0\r\n\r\n", out);
    session->on_close();
  }
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].rfind("tls handshake with " + path + ": ", 0), 0u) << log[0];
  EXPECT_EQ(log[1].rfind("tls handshake with (unix): ", 0), 0u) << log[1];
}

}  // namespace
}  // namespace sockit
