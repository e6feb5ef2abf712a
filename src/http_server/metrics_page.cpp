// The live page of the metrics door (see sockit/http/metrics_web.hpp): plain HTML, CSS and
// JavaScript, no framework and nothing fetched from elsewhere. It reads the /stats JSON the
// WebSocket at /live pushes once a second, keeps the last two minutes, and draws connections
// open, connections per second and messages per second; names from the server (service,
// workers) are only ever put in the page as text (textContent), never as markup.
#include <string_view>

#include "sockit/http/metrics_web.hpp"

namespace sockit::http {

std::string_view metrics_page() noexcept {
  return R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sockit metrics</title>
<style>
  body { font-family: sans-serif; margin: 0; background: #f4f4f4; color: #222; }
  main { max-width: 64rem; margin: 1rem auto; padding: 0 1rem; }
  h1 { font-size: 1.3rem; margin-bottom: .2rem; }
  #status { color: #777; font-size: .9rem; margin-top: 0; }
  #tiles { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0; }
  .tile { background: #fff; border: 1px solid #ccc; padding: .4rem .7rem; min-width: 7rem; }
  .tile b { display: block; font-size: 1.2rem; }
  .tile span { color: #777; font-size: .8rem; }
  .chart { background: #fff; border: 1px solid #ccc; margin: .5rem 0; padding: .3rem .5rem; }
  .chart h2 { font-size: .9rem; margin: 0; font-weight: normal; }
  .chart h2 b { font-weight: bold; }
  canvas { width: 100%; height: 7rem; display: block; }
  table { border-collapse: collapse; background: #fff; font-size: .85rem; width: 100%; }
  th, td { border: 1px solid #ccc; padding: .2rem .4rem; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  thead th { background: #e8e8e8; }
  .wide { overflow-x: auto; }
</style>
</head>
<body>
<main>
<h1 id="title">sockit metrics</h1>
<p id="status">Connecting...</p>
<div id="tiles"></div>
<div class="chart"><h2>Connections open <b id="now-open"></b></h2>
  <canvas id="chart-open" width="960" height="110"></canvas></div>
<div class="chart"><h2>Connections per second <b id="now-conns"></b></h2>
  <canvas id="chart-conns" width="960" height="110"></canvas></div>
<div class="chart"><h2>Messages per second, in and out <b id="now-msgs"></b></h2>
  <canvas id="chart-msgs" width="960" height="110"></canvas></div>
<h2 style="font-size:1rem">Workers</h2>
<div class="wide"><table><thead id="head"></thead><tbody id="rows"></tbody></table></div>
<p id="links" style="font-size:.85rem;color:#777">Also: <a href="/metrics">/metrics</a>
  (Prometheus), <a href="/stats">/stats</a> (JSON).</p>
</main>
<script>
"use strict";
const keep = 120;  // seconds of history drawn
const history = [];  // {open, conns, msgs_in, msgs_out}, one a second
let last = null;     // the previous push, for rates
const status = document.getElementById("status");

// A family's value in a counters object: a number, or the sum of its labelled values.
function sum(value) {
  if (typeof value === "number") return value;
  let total = 0;
  for (const k in value) total += value[k];
  return total;
}

function human(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function duration(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60);
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}

function tile(label, value) {
  const div = document.createElement("div");
  div.className = "tile";
  const b = document.createElement("b");
  b.textContent = value;
  const span = document.createElement("span");
  span.textContent = label;
  div.append(b, span);
  return div;
}

// Draws series (arrays of numbers, one a second, the newest last) over the last `keep`
// seconds, scaled to the largest value shown.
function draw(id, series, colours) {
  const canvas = document.getElementById(id);
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 14;
  g.clearRect(0, 0, w, h);
  let top = 1;
  for (const s of series) for (const v of s) top = Math.max(top, v);
  g.strokeStyle = "#ddd";
  g.beginPath();
  g.moveTo(0, h - pad + .5);
  g.lineTo(w, h - pad + .5);
  g.stroke();
  g.fillStyle = "#777";
  g.font = "11px sans-serif";
  g.fillText(human(top), 2, 10);
  g.fillText("-" + keep + " s", 2, h - 2);
  g.fillText("now", w - 22, h - 2);
  series.forEach((s, i) => {
    g.strokeStyle = colours[i];
    g.lineWidth = 1.5;
    g.beginPath();
    s.forEach((v, x) => {
      const px = w - (s.length - 1 - x) * (w / (keep - 1));
      const py = h - pad - v / top * (h - pad - 14);
      if (x === 0) g.moveTo(px, py); else g.lineTo(px, py);
    });
    g.stroke();
  });
}

const columns = [
  ["accepted", c => c.connections_accepted],
  ["refused", c => sum(c.connections_refused)],
  ["closed", c => sum(c.connections_closed)],
  ["eof", c => c.connections_closed.eof],
  ["reset", c => c.connections_closed.reset],
  ["idle", c => c.connections_closed.idle],
  ["error", c => c.connections_closed.error],
  ["by server", c => c.connections_closed.server],
  ["bytes in", c => c.received_bytes],
  ["bytes out", c => c.sent_bytes],
  ["msgs in", c => c.messages_received],
  ["msgs out", c => c.messages_sent],
  ["rate-limited", c => sum(c.messages_refused)],
  ["TLS ok", c => c.tls_handshakes],
  ["TLS failed", c => c.tls_handshake_failures],
];

function row(name, counters, cell) {
  const tr = document.createElement("tr");
  const first = document.createElement(cell);
  first.textContent = name;
  tr.append(first);
  for (const [, get] of columns) {
    const td = document.createElement(cell);
    const v = get(counters);
    td.textContent = v === undefined ? "" : human(v);
    tr.append(td);
  }
  return tr;
}

function show(stats) {
  const t = stats.total, p = stats.process;
  const point = {open: stats.open, conns: 0, msgs_in: 0, msgs_out: 0};
  if (last) {
    const dt = Math.max(p.time_seconds - last.process.time_seconds, 0.001);
    const rate = (f) => Math.max(0, (f(t) - f(last.total)) / dt);
    point.conns = rate(c => c.connections_accepted);
    point.msgs_in = rate(c => c.messages_received);
    point.msgs_out = rate(c => c.messages_sent);
  }
  last = stats;
  history.push(point);
  while (history.length > keep) history.shift();

  document.getElementById("title").textContent =
      "sockit " + stats.service + " on " + stats.architecture;
  document.title = "sockit metrics: " + stats.service;
  const tiles = document.getElementById("tiles");
  tiles.replaceChildren(
      tile("open", human(stats.open)),
      tile("accepted", human(t.connections_accepted)),
      tile("refused", human(sum(t.connections_refused))),
      tile("connections/s", human(point.conns)),
      tile("messages/s in", human(point.msgs_in)),
      tile("messages/s out", human(point.msgs_out)),
      tile("bytes in", human(t.received_bytes)),
      tile("bytes out", human(t.sent_bytes)),
      tile("CPU seconds", p.cpu_seconds.toFixed(2)),
      tile("resident memory", human(p.resident_bytes) + "B"),
      tile("open fds", human(p.open_fds)),
      tile("up", duration(p.time_seconds - p.start_time_seconds)));
  document.getElementById("now-open").textContent = human(point.open);
  document.getElementById("now-conns").textContent = human(point.conns);
  document.getElementById("now-msgs").textContent =
      human(point.msgs_in) + " / " + human(point.msgs_out);
  draw("chart-open", [history.map(h => h.open)], ["#05a"]);
  draw("chart-conns", [history.map(h => h.conns)], ["#063"]);
  draw("chart-msgs", [history.map(h => h.msgs_in), history.map(h => h.msgs_out)],
       ["#a50", "#708"]);

  const head = document.createElement("tr");
  for (const name of ["worker", ...columns.map(([label]) => label)]) {
    const th = document.createElement("th");
    th.textContent = name;
    head.append(th);
  }
  document.getElementById("head").replaceChildren(head);
  const rows = stats.workers.map(w => row(w.worker, w.counters, "td"));
  rows.push(row("total", t, "th"));
  document.getElementById("rows").replaceChildren(...rows);
}

// Connects to /live, and again a few seconds after the socket drops.
function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/live");
  socket.onopen = () => { status.textContent = "Live: updated every second."; };
  socket.onmessage = (event) => {
    try {
      show(JSON.parse(String(event.data)));
    } catch (e) {
      status.textContent = "Unreadable update: " + e;
    }
  };
  socket.onclose = () => {
    status.textContent = "Disconnected; reconnecting...";
    last = null;
    setTimeout(connect, 3000);
  };
}

connect();
</script>
</body>
</html>
)html";
}

}  // namespace sockit::http
