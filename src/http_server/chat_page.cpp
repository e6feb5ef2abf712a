// The page of the chat room's web door (see sockit/http/chat_web.hpp): plain HTML, CSS and
// JavaScript, no framework and nothing fetched from elsewhere. Text from the room is only
// ever put in the page as text (textContent), never as markup.
#include <string_view>

#include "sockit/http/chat_web.hpp"

namespace sockit::http {

std::string_view chat_page() noexcept {
  return R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sockit chat</title>
<style>
  body { font-family: sans-serif; margin: 0; background: #f4f4f4; color: #222; }
  main { max-width: 40rem; margin: 1rem auto; padding: 0 1rem; }
  h1 { font-size: 1.3rem; }
  #lines { list-style: none; padding: .5rem; margin: 0 0 .5rem; background: #fff;
           border: 1px solid #ccc; height: 20rem; overflow-y: auto; }
  #lines li { padding: .1rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
  #lines li.event { color: #777; font-style: italic; }
  #lines li.server { color: #05a; }
  #lines li.mine { color: #063; }
  form { display: flex; gap: .5rem; }
  input[type=text] { flex: 1; padding: .3rem; }
  #status { color: #777; font-size: .9rem; }
</style>
</head>
<body>
<main>
<h1>sockit chat</h1>
<p id="status">Not connected.</p>
<ul id="lines"></ul>
<form id="form" autocomplete="off">
  <input id="text" type="text" placeholder="Your nickname" maxlength="4096" autofocus>
  <button id="send" type="submit">Join</button>
</form>
</main>
<script>
"use strict";
const lines = document.getElementById("lines");
const form = document.getElementById("form");
const text = document.getElementById("text");
const send = document.getElementById("send");
const status = document.getElementById("status");
let socket = null;
let joined = false;
let nick = "";
let pending = [];

function show(line, kind) {
  const item = document.createElement("li");
  item.textContent = line;
  if (kind) item.className = kind;
  lines.appendChild(item);
  lines.scrollTop = lines.scrollHeight;
}

// The room's lines: "NICK: message", "NICK joined the chat", "NICK left the chat", or the
// server's own answers to this page (welcome, refusals).
function kind_of(line) {
  if (/^[^\s:]+ (joined|left) the chat$/.test(line)) return "event";
  if (joined && /^[^\s:]+: /.test(line)) return "";
  return "server";
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + location.host + "/chat");
  status.textContent = "Connecting...";
  socket.onopen = () => {
    status.textContent = "Connected: choose a nickname.";
    for (const line of pending) socket.send(line);
    pending = [];
  };
  socket.onmessage = (event) => {
    const line = String(event.data);
    if (!joined && line.startsWith("Welcome to the chat, ")) {
      joined = true;
      nick = line.slice(21);
      status.textContent = "Joined as " + nick + ".";
      text.placeholder = "Say something";
      send.textContent = "Send";
    }
    show(line, kind_of(line));
  };
  socket.onclose = (event) => {
    status.textContent = "Disconnected (" + event.code + (event.reason ? ", " + event.reason : "") +
                         "). Reload the page to join again.";
    send.disabled = true;
    socket = null;
  };
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const line = text.value;
  if (line === "" || send.disabled) return;
  text.value = "";
  if (joined) show(nick + ": " + line, "mine");
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(line);
  } else {
    pending.push(line);
  }
});

connect();
</script>
</body>
</html>
)html";
}

}  // namespace sockit::http
