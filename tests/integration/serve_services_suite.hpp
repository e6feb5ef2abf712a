// The services suite: every service on an architecture, through the real CLI (`sockit
// serve SERVICE --arch A --port 0` as a child process), with one client and with 50
// concurrent clients (serial: one after the other), answers checked byte for byte.
// Instantiated by server_test.cpp (process architectures) and server_threaded_test.cpp
// (threaded ones, which the ThreadSanitizer run covers).
#pragma once

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "serve_fixture.hpp"

namespace sockit::test {

using Param = std::tuple<std::string, std::string>;  // architecture, service

// Runs one exchange of `service` and reports what was wrong, or "" when it was right.
inline std::string exchange(const std::string& service, std::uint16_t port, int n) {
  try {
    Client client(port);
    if (service == "echo") {
      std::string lines = "hello " + std::to_string(n) + "\nsecond line\n";
      client.send(lines);
      std::string got = client.read_until("second line\n");
      if (got != lines) return "echo answered '" + got + "'";
      client.shutdown_write();
      client.read_to_eof();
      if (!client.eof()) return "echo did not close after the client's EOF";
      if (client.received() != lines) return "echo sent more: '" + client.received() + "'";
      return "";
    }
    std::string got = client.read_to_eof();
    if (!client.eof()) return service + " did not close";
    if (service == "hello") {
      return got == "Hello, world!\n" ? "" : "hello answered '" + got + "'";
    }
    static const std::regex ruby(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}\n)");
    return std::regex_match(got, ruby) ? "" : "daytime answered '" + got + "'";
  } catch (const std::exception& e) {
    return std::string("client: ") + e.what();
  }
}

class ServeEveryArchitecture : public ::testing::TestWithParam<Param> {
 protected:
  // The pool's queue must hold 50 simultaneous clients: when it is full, clients are
  // turned away by design (the fault tests check that).
  std::vector<std::string> args() const { return {"--quiet", "--workers", "4", "--queue", "64"}; }
  const std::string& arch() const { return std::get<0>(GetParam()); }
  const std::string& service() const { return std::get<1>(GetParam()); }
};

TEST_P(ServeEveryArchitecture, OneClient) {
  ServeProcess server(service(), arch(), args());
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(exchange(service(), server.port, 0), "");
  EXPECT_EQ(exchange(service(), server.port, 1), "");  // and the server is still there
  ExitStatus status = server.terminate();
  EXPECT_TRUE(status.success()) << server.process->stderr_text();
  EXPECT_NE(server.process->stderr_text().find("Shutdown complete"), std::string::npos);
}

TEST_P(ServeEveryArchitecture, FiftyClients) {
  ServeProcess server(service(), arch(), args());
  ASSERT_TRUE(server.ok());
  constexpr int clients = 50;
  std::vector<std::string> errors(clients);
  if (arch() == "serial") {
    for (int i = 0; i < clients; ++i)
      errors[i] = exchange(service(), server.port, i);
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i) {
      threads.emplace_back([&, i] { errors[i] = exchange(service(), server.port, i); });
    }
    for (auto& t : threads)
      t.join();
  }
  for (int i = 0; i < clients; ++i)
    EXPECT_EQ(errors[i], "") << "client " << i;
  ExitStatus status = server.terminate();
  EXPECT_TRUE(status.success()) << server.process->stderr_text();
}

inline std::string param_name(const ::testing::TestParamInfo<Param>& p) {
  return test_name(std::get<0>(p.param)) + "_" + std::get<1>(p.param);
}

inline auto services_on(std::vector<std::string> archs) {
  return ::testing::Combine(::testing::ValuesIn(archs),
                            ::testing::Values("echo", "daytime", "hello"));
}

}  // namespace sockit::test
