// sockit http: an HTTP/1.1 client with any method and body, several URLs over kept-alive
// connections, redirects followed safely, and heads shown with -i or -v.
//   sockit http POST http://127.0.0.1:8000/api --json '{"name": "x"}'
#include <memory>

#include "commands.hpp"
#include "http_transfer.hpp"

namespace sockit::cli {

void register_http(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<HttpArgs>();
  CLI::App* cmd = app.add_subcommand(
      "http", "HTTP requests with any method and body; several URLs share connections");
  cmd->add_option("url", args->words,
                  "[METHOD] URL [URL...]: an all-caps first word is the method (GET, POST...)")
      ->required();
  cmd->add_option("--request,-X", args->method, "The method (GET, HEAD, POST, PUT, DELETE...)");
  cmd->add_option("--data,-d", args->data,
                  "Send TEXT, or the bytes of @FILE (@- for stdin), as the body: POST unless "
                  "a method is given; Content-Type: application/x-www-form-urlencoded unless "
                  "-H sets one")
      ->each([args](const std::string&) { args->data_given = true; });
  cmd->add_option("--json", args->json,
                  "Send TEXT or @FILE as a JSON body: POST unless a method is given, with "
                  "Content-Type and Accept: application/json")
      ->each([args](const std::string&) { args->json_given = true; });
  add_transfer_options(*cmd, *args);
  cmd->footer(
      "\nEach URL is fetched in turn and the bodies are written one after another; requests\n"
      "to the same host and port reuse one kept-alive connection (-v says \"reusing\n"
      "connection to host:port\"). --output takes one URL. Sends Host, User-Agent:\n"
      "sockit/VERSION, Accept: */*, Content-Length with a body, and Connection: close on the\n"
      "last request. With --location, 301/302 turn a POST into a GET and 303 turns any\n"
      "method but HEAD into a GET (no body); 307/308 send the same method and body again.\n"
      "A redirect to another host, port or scheme does not carry Authorization, Cookie or\n"
      "Proxy-Authorization; one from https:// to http:// is refused unless\n"
      "--allow-insecure-redirect.\n"
      "Exit status: 0 when every status is 2xx, 1 for any other status (the body is still\n"
      "printed, the status goes to stderr) or a network failure, 2 for bad arguments.\n"
      "\nExamples:\n"
      "  sockit http POST http://127.0.0.1:8000/api --json '{\"name\": \"x\"}'\n"
      "  sockit http http://127.0.0.1:8000/a http://127.0.0.1:8000/b -v   # one connection\n"
      "  sockit http -X PUT http://127.0.0.1:8000/f -d @file.bin -H 'Content-Type: "
      "application/octet-stream'\n"
      "  sockit http HEAD https://example.com/ -i\n"
      "  sockit http -L http://127.0.0.1:8000/old --max-redirs 3\n");
  cmd->callback([args, &exit_code] { exit_code = run_http(*args); });
}

static const CommandRegistration http_registration{26, register_http};

}  // namespace sockit::cli
