"""A WebSocket server for cli_connect_websocket_test, with Python's websockets library (a
peer not written with sockit). Prints its port, then serves until killed:
  /echo       answers each message with "echo: " + message, and pings every 100 ms
              (a client that does not answer its pings is closed with 1011)
  /policy     closes at once with 1008 "policy says no"
  /drop       drops the TCP connection without a close frame

usage: websocket_server.py
Exit status 2 with "missing websockets" when the library is not installed."""

import asyncio
import sys

try:
    import websockets
except ImportError:
    print("missing websockets", flush=True)
    sys.exit(2)


async def handler(ws, path):
    if path == "/policy":
        await ws.close(code=1008, reason="policy says no")
    elif path == "/drop":
        ws.transport.abort()
    else:
        async for message in ws:
            await ws.send("echo: " + message)


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, ping_interval=0.1,
                                ping_timeout=2) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


asyncio.run(main())
