"""Drives headless Chromium through the chat page of `sockit serve chat --web`, for
chat_web_browser_test, over the Chrome DevTools Protocol (Python's websockets library).

usage: chat_page_browser.py CHROMIUM WEB_PORT PROFILE_DIR SCREENSHOT_PNG

Opens http://127.0.0.1:WEB_PORT/, types the nickname `web` into the page and prints
"joined" once the page shows the welcome. Then reads lines from stdin:
  "expect TEXT"  waits until the page shows TEXT, then prints "seen"
  "say TEXT"     types TEXT into the page and sends it, then prints "sent"
  "shot"         saves a PNG screenshot of the page to SCREENSHOT_PNG, prints "saved"
Everything is bounded; Chromium runs in a process group of its own, which is killed at the
end (and dies with this script if the script is killed first). Exit status 2 with "missing
websockets" when the library is not installed, 1 with the reason on anything else."""

import asyncio
import base64
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

try:
    import websockets
except ImportError:
    print("missing websockets", flush=True)
    sys.exit(2)

STEP = 20  # seconds any one step may take


def die_with_parent():
    """Runs in Chromium's process before exec: a new process group, and SIGKILL when this
    script dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_chromium(binary, profile):
    os.makedirs(profile, exist_ok=True)
    args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-extensions", "--disable-dev-shm-usage", "--window-size=800,600",
            "--user-data-dir=" + profile, "--remote-debugging-port=0", "about:blank"]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=die_with_parent)


def devtools_url(profile, chromium):
    """The browser's DevTools WebSocket, from the DevToolsActivePort file Chromium writes."""
    path = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        if chromium.poll() is not None:
            raise RuntimeError("chromium exited with status %d" % chromium.returncode)
        try:
            with open(path) as f:
                lines = f.read().split("\n")
            if len(lines) >= 2 and lines[0] and lines[1]:
                return "ws://127.0.0.1:%s%s" % (lines[0], lines[1])
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise RuntimeError("chromium wrote no DevToolsActivePort within %d s" % STEP)


class DevTools:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.session = None

    async def call(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        await self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), STEP))
            if reply.get("id") != self.next_id:
                continue  # an event
            if "error" in reply:
                raise RuntimeError("%s: %s" % (method, reply["error"]))
            return reply["result"]

    async def evaluate(self, expression):
        result = await self.call("Runtime.evaluate",
                                 {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError("page script failed: %s" % result["exceptionDetails"])
        return result["result"].get("value")

    async def wait_for_text(self, text):
        deadline = time.monotonic() + STEP
        shown = ""
        while time.monotonic() < deadline:
            shown = await self.evaluate("document.getElementById('lines').innerText")
            if text in (shown or ""):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the page did not show %r within %d s; it shows %r"
                           % (text, STEP, shown))

    async def type_and_send(self, text):
        await self.evaluate("document.getElementById('text').focus()")
        await self.call("Input.insertText", {"text": text})
        await self.evaluate("document.getElementById('form').requestSubmit()")


async def drive(chromium, port, profile, screenshot):
    url = devtools_url(profile, chromium)
    async with websockets.connect(url, max_size=None, open_timeout=STEP) as ws:
        tools = DevTools(ws)
        target = await tools.call("Target.createTarget",
                                  {"url": "http://127.0.0.1:%d/" % port}, session=False)
        attached = await tools.call("Target.attachToTarget",
                                    {"targetId": target["targetId"], "flatten": True},
                                    session=False)
        tools.session = attached["sessionId"]
        await tools.call("Runtime.enable")
        deadline = time.monotonic() + STEP
        # The new target starts on about:blank: wait for the chat page itself.
        loaded = ("document.readyState === 'complete' && "
                  "document.getElementById('form') !== null")
        while not await tools.evaluate(loaded):
            if time.monotonic() > deadline:
                raise RuntimeError("the page did not load within %d s" % STEP)
            await asyncio.sleep(0.05)
        await tools.type_and_send("web")
        await tools.wait_for_text("Welcome to the chat, web")
        print("joined", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), 60)
            if not line:
                return
            command, _, text = line.rstrip("\n").partition(" ")
            if command == "expect":
                await tools.wait_for_text(text)
                print("seen", flush=True)
            elif command == "say":
                await tools.type_and_send(text)
                print("sent", flush=True)
            elif command == "shot":
                shot = await tools.call("Page.captureScreenshot", {"format": "png"})
                with open(screenshot, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                print("saved", flush=True)
            else:
                raise RuntimeError("unknown command %r" % command)


def main():
    binary, port, profile, screenshot = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    chromium = start_chromium(binary, profile)
    try:
        asyncio.run(drive(chromium, port, profile, screenshot))
    except Exception as e:  # the reason, for the test's failure message
        print("error: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        return 1
    finally:
        try:
            os.killpg(chromium.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        chromium.wait(timeout=STEP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
