#!/usr/bin/env python3
"""An HTTP server (Python's http.server) that answers the awkward cases `sockit get` must
handle: chunked bodies, redirects (relative, absolute, a loop, a chain), a Content-Length
that lies, extra bytes after the body, garbage instead of a status line, a 404, a body that
ends with the connection, and a server that stalls. For `sockit http`, any method: an echo
of the request as JSON, a redirect with any status to any place, connection numbers (to
prove keep-alive reuse), a response that closes the connection and one in HTTP/1.0.

Usage: http_peer.py [--host 127.0.0.1] [--port 0]
Prints "listening on HOST:PORT" on stderr once it accepts connections.
"""
import argparse
import http.server
import json
import socket
import sys
import threading
import time
import urllib.parse

BIG_CHUNKED_SIZE = 1024 * 1024 + 17


def big_chunked_byte(i):
    return (i * 31 + 7) % 251


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked needs 1.1

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.connection_number = self.server.connections

    def send_body(self, status, body, content_type="text/plain", close=False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def redirect(self, status, location):
        body = b"moved to " + location.encode() + b"\n"
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def raw(self, data):
        self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True

    def read_request_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_GET(self):
        self.request_body = self.read_request_body()
        path = self.path
        host = self.server.server_address[0]
        if ":" in host:
            host = "[" + host + "]"
        origin = "http://%s:%d" % (host, self.server.server_address[1])

        if path == "/echo" or path.startswith("/echo?"):
            echo = {
                "method": self.command,
                "path": path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": self.request_body.decode("latin-1"),
                "connection": self.connection_number,
            }
            self.send_body(200, (json.dumps(echo) + "\n").encode(), "application/json")
        elif path == "/conn":
            self.send_body(200, b"%d\n" % self.connection_number)
        elif path == "/close":
            self.send_body(200, b"closing %d\n" % self.connection_number, close=True)
            self.close_connection = True
        elif path == "/http10":
            # An HTTP/1.0 answer on a connection left open: the client must not reuse it.
            body = b"old %d\n" % self.connection_number
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            self.wfile.flush()
        elif path.startswith("/status/"):
            # /status/307?to=/echo: that status, Location from the query (decoded).
            code, _, query = path[len("/status/"):].partition("?")
            to = urllib.parse.parse_qs(query).get("to", ["/echo"])[0]
            self.redirect(int(code), to)
        elif path == "/evil-reason":
            self.raw(b"HTTP/1.1 404 Not\x1b[31mFound\r\nContent-Length: 0\r\n\r\n")
        elif path == "/evil-location":
            # 0x9b is CSI to a terminal that takes C1 controls; HTTP allows it (obs-text).
            self.raw(b"HTTP/1.1 302 Fo\x9bund\r\nLocation: /target\x9b[31m\r\n"
                     b"Content-Length: 0\r\n\r\n")
        elif path == "/target":
            self.send_body(200, b"you made it\n")
        elif path == "/headers":
            self.send_body(200, str(self.headers).encode())
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            self.raw(b"6;note=first\r\nhello \r\n"
                     b"7\r\nchunked\r\n"
                     b"1\r\n\n\r\n"
                     b"0\r\nX-Checksum: 42\r\n\r\n")
        elif path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            data = bytes(big_chunked_byte(i) for i in range(BIG_CHUNKED_SIZE))
            sizes = [1, 2, 4093, 65536, 100000]
            at, k = 0, 0
            while at < len(data):
                n = min(sizes[k % len(sizes)], len(data) - at)
                self.wfile.write(b"%x\r\n" % n + data[at:at + n] + b"\r\n")
                at, k = at + n, k + 1
            self.raw(b"0\r\n\r\n")
        elif path == "/redirect/301":
            self.redirect(301, "/target")
        elif path == "/redirect/302-absolute":
            self.redirect(302, origin + "/target")
        elif path == "/redirect/dir/relative":
            self.redirect(307, "../../target")
        elif path == "/loop":
            self.redirect(302, "/loop")
        elif path.startswith("/chain/"):
            n = int(path[len("/chain/"):])
            if n == 0:
                self.send_body(200, b"end of chain\n")
            else:
                self.redirect(302, "/chain/%d" % (n - 1))
        elif path == "/lie":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.raw(b"0123456789")
        elif path == "/extra":
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.raw(b"abcdef")
        elif path == "/garbage":
            self.raw(b"this is not http\r\n\r\n")
        elif path == "/eof":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.raw(b"until the connection closes\n")
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"12345")
            self.wfile.flush()
            time.sleep(30)
            self.raw(b"67890")
        else:
            self.send_body(404, b"no such thing\n")


    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET
    do_OPTIONS = do_GET


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    lock = threading.Lock()


class Server6(Server):
    address_family = socket.AF_INET6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server_class = Server6 if ":" in args.host else Server
    server = server_class((args.host, args.port), Handler)
    host, port = server.server_address[:2]
    shown = "[%s]" % host if ":" in host else host
    print("listening on %s:%d" % (shown, port), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
