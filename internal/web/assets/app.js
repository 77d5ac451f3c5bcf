// peerd's live page: keeps the diagram's counts, the peer list and the
// mempool list current from /events (Server-Sent Events). Everything a
// peer controls is written with textContent, never as HTML.
"use strict";
(function () {
  const status = document.getElementById("status");

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }
  function link(td, href, text, cls) {
    td.textContent = "";
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (cls) a.className = cls;
    td.appendChild(a);
  }
  function empty(tbody, cols, text) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = cell(tr, text);
    td.colSpan = cols;
    tbody.appendChild(tr);
  }
  function clock(iso) {
    const d = new Date(iso);
    return d.toTimeString().slice(0, 8) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function apply(s) {
    document.querySelectorAll("[data-count]").forEach(function (el) {
      const n = s.states[el.getAttribute("data-count")] || 0;
      el.textContent = String(n);
      el.parentNode.classList.toggle("occupied", n > 0);
    });
    document.querySelectorAll("[data-edge-count]").forEach(function (el) {
      const n = s.edges[el.getAttribute("data-edge-count")] || 0;
      el.textContent = n > 0 ? "×" + n : "";
    });
    document.querySelectorAll("g.edge").forEach(function (g) {
      const hot = g.getAttribute("data-edge").split(" ").some(function (id) { return (s.edges[id] || 0) > 0; });
      g.classList.toggle("hot", hot);
    });
    document.getElementById("transitions").textContent = String(s.transitions_1m);

    const peers = document.getElementById("peers");
    peers.textContent = "";
    s.peers.forEach(function (p) {
      const tr = document.createElement("tr");
      tr.setAttribute("data-peer-id", String(p.id));
      tr.setAttribute("data-state", p.state);
      link(cell(tr, ""), "/peer/" + p.id, String(p.id));
      cell(tr, p.direction);
      cell(tr, p.conn);
      cell(tr, p.transport);
      cell(tr, p.state, "st");
      cell(tr, p.ping_ms >= 0 ? p.ping_ms.toFixed(1) + " ms" : "");
      cell(tr, p.age_s + " s");
      cell(tr, p.addr);
      cell(tr, p.user_agent, "ua");
      tr.addEventListener("click", function (ev) {
        if (ev.target.tagName !== "A") location.href = "/peer/" + p.id;
      });
      peers.appendChild(tr);
    });
    if (s.peers.length === 0) empty(peers, 9, "no peers");
    document.getElementById("peercount").textContent = String(s.peers.length);

    const pool = document.getElementById("mempool");
    pool.textContent = "";
    s.mempool.forEach(function (t) {
      const tr = document.createElement("tr");
      tr.setAttribute("data-txid", t.txid);
      const td = cell(tr, "");
      link(td, "/tx/" + t.txid, t.txid, "mono");
      if (t.private) {
        const tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = "private";
        td.append(" ", tag);
      }
      cell(tr, clock(t.added));
      cell(tr, String(t.vsize));
      cell(tr, String(t.sent));
      cell(tr, String(t.fetched));
      cell(tr, String(t.echoed));
      pool.appendChild(tr);
    });
    if (s.mempool.length === 0) empty(pool, 6, "no transactions");
    document.getElementById("txcount").textContent = String(s.mempool_count);

    status.textContent = "live: updated " + clock(s.time) + ", up " + s.uptime_s + " s";
    status.className = "status live";
  }

  // Click anywhere on a server-rendered row, too.
  document.querySelectorAll("#peers tr[data-peer-id]").forEach(function (tr) {
    tr.addEventListener("click", function (ev) {
      if (ev.target.tagName !== "A") location.href = "/peer/" + tr.getAttribute("data-peer-id");
    });
  });

  if (!window.EventSource) {
    status.textContent = "this browser has no EventSource: reload for fresh data";
    return;
  }
  const es = new EventSource("/events");
  es.addEventListener("state", function (ev) { apply(JSON.parse(ev.data)); });
  es.onerror = function () {
    status.textContent = "not connected to peerd: retrying";
    status.className = "status down";
  };
})();
