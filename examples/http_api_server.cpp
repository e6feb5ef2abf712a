// An HTTP application server in the manner of a small Sinatra app behind Puma: a JSON API
// next to static files, on any of sockit's architectures.
//   GET  /api/time         {"time": "2026-12-04T23:40:01+00:00", "unix": 1796514001}
//   POST /api/echo         the JSON body, parsed and sent back with its size (400 if not JSON)
//   GET  /api/count?n=N    N lines, streamed as they are produced (chunked)
//   anything else          files from --root (default: the current directory)
// Usage: http_api_server [PORT | --port PORT] [--root DIR] [--architecture NAME]  (8080)
//   curl -s localhost:8080/api/time
//   curl -s --json '{"name":"sockit"}' localhost:8080/api/echo
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "example_support.hpp"
#include "sockit/http/http_service.hpp"
#include "sockit/server/server.hpp"
#include "sockit/server/services.hpp"

namespace {

using sockit::http::Request;
using sockit::http::Response;

Response time_now(const Request&) {
  const auto now = std::chrono::system_clock::now();
  nlohmann::json body = {
      {"time", sockit::server::ruby_time_string(now, sockit::server::TimeStyle::iso8601)},
      {"unix", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()}};
  return Response::json(200, body.dump() + "\n");
}

Response echo(const Request& request) {
  auto parsed = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Response::json(400, nlohmann::json{{"error", "the body is not JSON"}}.dump() + "\n");
  }
  nlohmann::json body = {{"received", parsed}, {"bytes", request.body.size()}};
  return Response::json(200, body.dump() + "\n");
}

// ?n=N (1..100000, default 10): N numbered lines, produced one piece at a time.
Response count(const Request& request) {
  long n = 10;
  const std::string& query = request.path.query;
  if (query.starts_with("n=")) n = std::strtol(query.c_str() + 2, nullptr, 10);
  if (n < 1 || n > 100000) return Response::json(400, "{\"error\": \"n must be 1..100000\"}\n");
  Response response;
  response.header("Content-Type", "text/plain; charset=utf-8");
  response.stream = [next = 1L, n]() mutable -> std::string {
    std::string piece;
    for (int i = 0; i < 1000 && next <= n; ++i, ++next)
      piece += "line " + std::to_string(next) + "\n";
    return piece;
  };
  return response;
}

}  // namespace

int main(int argc, char** argv) try {
  example::Args args(argc, argv);
  sockit::server::ServerOptions options;
  options.host = "0.0.0.0";
  options.port = args.port(0, 8080);
  if (auto name = args.flag("architecture")) {
    auto architecture = sockit::server::parse_architecture(*name);
    if (!architecture) throw std::invalid_argument("unknown architecture: " + *name);
    options.architecture = *architecture;
  }
  sockit::http::HttpOptions http;
  sockit::http::StaticOptions files;
  files.root = args.flag("root").value_or(".");
  http.files = files;
  auto service = std::make_shared<sockit::http::HttpService>(http);
  service->route("GET", "/api/time", time_now);
  service->route("POST", "/api/echo", echo);
  service->route("GET", "/api/count", count);

  sockit::server::Server server(service, options);
  example::announce_listening(server.local_address());
  server.run();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "http_api_server: " << e.what() << '\n';
  return 1;
}
