// `sockit connect ws://HOST:PORT/PATH` (and wss://): netcat for WebSocket. Each line of
// stdin goes out as one text message, each message received is written to stdout with a
// newline; when stdin ends the client closes (1000) and waits for the server's close.
#pragma once

#include <string>

#include "tls_client_options.hpp"

namespace sockit::cli {

struct WebSocketConnectArgs {
  std::string url;     // ws://... or wss://...
  double timeout = 0;  // connect and handshake, seconds; 0: 30 s for the handshake
  std::string origin;  // an Origin field to send, as a browser would
  bool verbose = false;
  TlsClientArgs tls;  // --ca, --insecure (wss://)
};

// Whether `text` is a ws:// or wss:// URL (case-insensitive scheme).
bool is_websocket_url(std::string_view text) noexcept;

// Runs the client; returns once the close handshake is done. Throws CliError when the
// connection or handshake fails, or the server closes with a code other than 1000/1001
// (or without a close frame).
void connect_websocket(const WebSocketConnectArgs& args);

}  // namespace sockit::cli
