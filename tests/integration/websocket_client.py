"""A WebSocket client for websocket_test: runs one check against a sockit server with
Python's websockets library (a client not written with sockit) and prints what it saw.

usage: websocket_client.py URL CHECK
Exit status 2 with "missing websockets" when the library is not installed."""

import asyncio
import sys

try:
    import websockets
except ImportError:
    print("missing websockets")
    sys.exit(2)


async def closed_code(ws):
    """Reads until the server closes; the code of its close frame."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 20)
    except websockets.ConnectionClosed as e:
        return e.rcvd.code if e.rcvd is not None else None


async def check(url, name):
    async with websockets.connect(url, max_size=None, open_timeout=20,
                                  close_timeout=20) as ws:
        if name == "text":
            await ws.send("h\u00e9llo, w\u00f6rld \u2603")
            return "text " + await asyncio.wait_for(ws.recv(), 20)
        if name == "binary":
            data = bytes(range(256)) * 100
            await ws.send(data)
            got = await asyncio.wait_for(ws.recv(), 20)
            return "binary %d %s" % (len(got), got == data)
        if name == "fragmented":
            await ws.send(iter(["frag", "men", "ted"]))
            return "fragmented " + await asyncio.wait_for(ws.recv(), 20)
        if name == "ping":
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, 20)
            return "pong"
        if name == "too_big":
            try:
                await ws.send(b"x" * (1024 * 1024))
            except websockets.ConnectionClosed:
                pass
            return "closed %s" % await closed_code(ws)
        if name == "invalid_utf8":
            await ws.write_frame(True, 0x1, b"ok \xc3\x28 not utf-8")
            return "closed %s" % await closed_code(ws)
        if name == "close":
            await ws.close(code=4001, reason="done here")
            return "closed %s %s" % (ws.close_code, ws.close_reason == "")
        raise SystemExit("unknown check " + name)


print(asyncio.run(check(sys.argv[1], sys.argv[2])))
