"use strict";
/*
 * brook console - the page's logic. Plain JavaScript, no framework, no build step.
 *
 * The page is one shell (index.html) and one view at a time in <main>, chosen
 * from the location hash by route(). A view is a function that renders into
 * <main> and may return a cleanup function (route() calls it before the next
 * view: it closes a live tail's EventSource, for one). All data comes from the
 * JSON API under /api/v1/ (docs/console.md); nothing is cached between views,
 * so every visit shows the broker as it is now.
 *
 * DOM is built with h(), which sets text with textContent and never parses
 * strings as HTML, so record contents cannot inject markup.
 *
 * Login: when the broker asks for one (GET /api/v1/session answers 401), the
 * page shows only the login form and asks for nothing else. The session itself
 * is an HttpOnly cookie the page never sees; the CSRF token that comes with it
 * goes in X-CSRF-Token on every request that writes (api()).
 *
 * Values: the API sends keys and values as text when they are UTF-8 and as base64
 * otherwise. Text that parses as JSON (an object or array) is shown pretty-printed,
 * other text as it is, and base64 as a hex dump.
 */

const MAX_ROWS = 1000; /* rows kept in the message table while tailing */

const app = {
  broker: null,   /* GET /api/v1/broker, loaded once */
  readOnly: true, /* until the broker says otherwise: never show a write action early */
  cleanup: null,  /* the current view's cleanup function */
  csrf: "",       /* the session's CSRF token (GET /api/v1/session) */
  user: null,     /* who is logged in, or null without a login */
};

/* ---- DOM helpers ---- */

/* Build an element: h("a", {href: "#/x", class: "y"}, "text", child, ...). Attribute
   values of false, null or undefined are left out; on* attributes add listeners. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function fmtNum(n) {
  return n === null || n === undefined ? "-" : Number(n).toLocaleString("en-US");
}

function fmtBytes(n) {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + units[i];
}

function pad(n, w) {
  return String(n).padStart(w || 2, "0");
}

/* Local time with milliseconds: 2025-01-31 14:05:09.123 */
function fmtTime(ms) {
  if (ms === null || ms === undefined || ms < 0) return "-";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/* The value a datetime-local input wants for a time: 2025-01-31T14:05:09.123 */
function toLocalInput(ms) {
  return fmtTime(ms).replace(" ", "T");
}

function enc(s) {
  return encodeURIComponent(s);
}

/* ---- the API ---- */

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options) {
  const opts = Object.assign({headers: {}}, options || {});
  if (opts.json !== undefined) {
    opts.method = opts.method || "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
    delete opts.json;
  }
  if (opts.method && opts.method !== "GET" && opts.method !== "HEAD" && app.csrf)
    opts.headers["X-CSRF-Token"] = app.csrf;
  const r = await fetch(path, opts);
  const body = await r.json().catch(() => null);
  if (r.status === 401 && path !== "/api/v1/login") showLogin();
  if (!r.ok) throw new ApiError(r.status, (body && body.error) || r.statusText);
  return body;
}

function toast(message, bad) {
  const t = h("div", {class: bad ? "toast bad" : "toast", "data-testid": "toast"}, message);
  document.getElementById("toasts").append(t);
  setTimeout(() => t.remove(), bad ? 6000 : 3000);
}

/* ---- values ---- */

function base64Bytes(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hex2(b) {
  return b.toString(16).padStart(2, "0");
}

/* 16 bytes a line: offset, hex in two groups of 8, printable ASCII. */
function hexDump(bytes) {
  const lines = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16);
    let hex = "";
    let text = "";
    for (let i = 0; i < 16; i++) {
      hex += i < row.length ? hex2(row[i]) + " " : "   ";
      if (i === 7) hex += " ";
      if (i < row.length) text += row[i] >= 32 && row[i] < 127 ? String.fromCharCode(row[i]) : ".";
    }
    lines.push(off.toString(16).padStart(8, "0") + "  " + hex + " |" + text + "|");
  }
  return lines.join("\n");
}

/* How to show one key or value: {format: json|text|hex|null, text, preview}. */
function showValue(value, encoding) {
  if (value === null || value === undefined) return {format: "null", text: "null", preview: "null"};
  if (encoding === "base64") {
    const bytes = base64Bytes(value);
    const head = Array.from(bytes.subarray(0, 24), hex2).join(" ");
    return {format: "hex", text: hexDump(bytes), preview: head + (bytes.length > 24 ? " ..." : "")};
  }
  const t = value.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      const parsed = JSON.parse(t);
      return {format: "json", text: JSON.stringify(parsed, null, 2), preview: JSON.stringify(parsed)};
    } catch (e) { /* not JSON: plain text */ }
  }
  return {format: "text", text: value, preview: value.replace(/\s+/g, " ")};
}

function previewCell(value, encoding, testid) {
  const v = showValue(value, encoding);
  const cls = v.format === "null" ? "preview null" : v.format === "hex" ? "preview hexprev" : "preview";
  return h("td", {class: cls, "data-testid": testid, "data-format": v.format, title: v.preview.slice(0, 500)},
    v.preview.length > 300 ? v.preview.slice(0, 300) + "..." : v.preview);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) { /* no clipboard permission: the old way */
    const ta = h("textarea", {}, text);
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
}

/* ---- shell ---- */

function setSection(name) {
  for (const a of document.querySelectorAll(".sidebar a[data-section]"))
    a.classList.toggle("active", a.dataset.section === name);
}

function viewHead(title, ...rest) {
  return h("div", {class: "view-head"}, h("h1", {}, title), ...rest);
}

function chip(label, value, testid) {
  return h("div", {class: "chip"}, h("b", {"data-testid": testid}, value), h("span", {}, label));
}

function table(headers, rows, emptyText, attrs) {
  const head = h("tr", {}, headers.map(([label, cls]) => h("th", {class: cls || null}, label)));
  const body = h("tbody", {}, rows.length ? rows :
    h("tr", {class: "empty"}, h("td", {colspan: headers.length}, emptyText)));
  return h("table", attrs || {}, h("thead", {}, head), body);
}

function errorView(main, err) {
  main.replaceChildren(viewHead("Something went wrong"),
    h("div", {class: "panel note", "data-testid": "view-error"}, String(err.message || err)));
}

/* ---- topics ---- */

async function viewTopics(main) {
  setSection("topics");
  const data = await api("/api/v1/topics");
  let showInternal = false;
  let query = "";
  const tbodyHolder = h("div");
  const draw = () => {
    const topics = data.topics.filter((t) => (showInternal || !t.internal) &&
      t.name.toLowerCase().includes(query.toLowerCase()));
    const rows = topics.map((t) => h("tr", {"data-testid": "topic-row", "data-topic": t.name},
      h("td", {}, h("a", {href: "#/topics/" + enc(t.name), "data-testid": "topic-link"}, t.name),
        t.internal ? h("span", {class: "badge"}, " internal") : null),
      h("td", {class: "num", "data-testid": "topic-partitions"}, t.partition_count),
      h("td", {class: "num", "data-testid": "topic-messages"}, fmtNum(t.messages)),
      h("td", {class: "num", "data-testid": "topic-size"}, fmtBytes(t.size_bytes)),
      h("td", {}, t.cleanup_policy)));
    tbodyHolder.replaceChildren(table([["Name"], ["Partitions", "num"], ["Messages", "num"],
      ["Size", "num"], ["Cleanup policy"]], rows, "No topics yet.", {"data-testid": "topics-table"}));
  };
  const create = app.readOnly ? null :
    h("button", {class: "primary", "data-testid": "create-topic-button", onclick: () => openCreateTopic()},
      "Create topic");
  main.replaceChildren(
    viewHead("Topics", h("span", {class: "badge", "data-testid": "topic-count"},
      String(data.topics.filter((t) => !t.internal).length)),
      h("div", {class: "actions"}, h("button", {onclick: route, "data-testid": "refresh"}, "Refresh"), create)),
    h("div", {class: "panel"},
      h("div", {class: "toolbar"},
        h("label", {class: "grow"}, "Search",
          h("input", {type: "search", placeholder: "Topic name", "data-testid": "topic-search",
            oninput: (e) => { query = e.target.value; draw(); }})),
        h("label", {}, "Internal topics",
          h("select", {"data-testid": "topic-internal", onchange: (e) => { showInternal = e.target.value === "show"; draw(); }},
            h("option", {value: "hide"}, "hide"), h("option", {value: "show"}, "show")))),
      tbodyHolder));
  draw();
}

function openCreateTopic() {
  const dlg = document.getElementById("create-topic-dialog");
  const form = document.getElementById("create-topic-form");
  const err = dlg.querySelector("[data-testid=create-topic-error]");
  form.reset();
  err.hidden = true;
  form.onsubmit = async (e) => {
    e.preventDefault();
    const config = {};
    for (const line of form.config.value.split("\n")) {
      const i = line.indexOf("=");
      if (line.trim() && i > 0) config[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    try {
      const t = await api("/api/v1/topics", {json: {name: form.name.value, partitions: Number(form.partitions.value), config}});
      dlg.close();
      toast(`Created topic ${t.name}`);
      location.hash = "#/topics/" + enc(t.name);
    } catch (x) {
      err.textContent = x.message;
      err.hidden = false;
    }
  };
  dlg.showModal();
}

/* ---- one topic ---- */

async function viewTopic(main, name, tab) {
  setSection("topics");
  tab = tab || "messages";
  const t = await api("/api/v1/topics/" + enc(name));
  const tabLink = (id, label) => h("a", {href: `#/topics/${enc(name)}/${id}`, class: tab === id ? "active" : null,
    "data-testid": "tab-" + id}, label);
  const actions = h("div", {class: "actions"});
  if (!app.readOnly) {
    actions.append(h("button", {class: "primary", "data-testid": "produce-button", onclick: () => openProduce(t)}, "Produce"));
    if (!t.internal)
      actions.append(h("button", {class: "danger", "data-testid": "delete-topic-button", onclick: () => deleteTopic(t.name)}, "Delete"));
  }
  const body = h("div");
  main.replaceChildren(
    viewHead(h("span", {"data-testid": "topic-name"}, t.name), t.internal ? h("span", {class: "badge"}, "internal") : null, actions),
    h("div", {class: "chips"},
      chip("partitions", fmtNum(t.partition_count), "topic-partition-count"),
      chip("messages", fmtNum(t.messages), "topic-message-count"),
      chip("size", fmtBytes(t.size_bytes), "topic-size-total"),
      chip("cleanup policy", t.cleanup_policy, "topic-cleanup")),
    Charts.topic(t.name), /* charts.js: live rates and disk */
    h("div", {class: "tabs"}, tabLink("messages", "Messages"), tabLink("partitions", "Partitions"),
      tabLink("config", "Configuration")),
    body);
  if (tab === "partitions") return partitionsTab(body, t);
  if (tab === "config") return configTab(body, t);
  return messageBrowser(body, t);
}

function partitionsTab(body, t) {
  const rows = t.partitions.map((p) => h("tr", {"data-testid": "partition-row", "data-partition": p.partition},
    h("td", {class: "num"}, p.partition),
    h("td", {class: "num", "data-testid": "partition-start"}, fmtNum(p.log_start_offset)),
    h("td", {class: "num", "data-testid": "partition-end"}, fmtNum(p.end_offset)),
    h("td", {class: "num", "data-testid": "partition-messages"}, fmtNum(p.messages)),
    h("td", {class: "num"}, fmtBytes(p.size_bytes)),
    h("td", {class: "num"}, p.segments),
    h("td", {}, p.last_append_ms > 0 ? fmtTime(p.last_append_ms) : "-")));
  body.replaceChildren(h("div", {class: "panel"}, table([["Partition", "num"], ["Log start", "num"],
    ["End offset", "num"], ["Messages", "num"], ["Size", "num"], ["Segments", "num"], ["Last append"]], rows, "")));
}

function configTab(body, t) {
  const rows = t.config.map((c) => h("tr", {class: c.overridden ? "overridden" : null, "data-testid": "config-row",
    "data-name": c.name, "data-overridden": String(c.overridden)},
    h("td", {class: "mono"}, c.name),
    h("td", {class: "mono", "data-testid": "config-value"}, c.value),
    h("td", {}, c.overridden ? h("span", {class: "badge warn"}, "overridden") : h("span", {class: "muted"}, "default"))));
  body.replaceChildren(h("div", {class: "panel"}, table([["Name"], ["Value"], ["Source"]], rows, "")));
}

async function deleteTopic(name) {
  if (!confirm(`Delete topic ${name} and all its records?`)) return;
  try {
    await api("/api/v1/topics/" + enc(name), {method: "DELETE"});
    toast(`Deleted topic ${name}`);
    location.hash = "#/topics";
  } catch (x) {
    toast(x.message, true);
  }
}

/* ---- the message browser ---- */

function messageBrowser(body, topic) {
  const st = {messages: [], next: null, source: null, live: 0};
  const partition = h("select", {"data-testid": "seek-partition"}, h("option", {value: "all"}, "All"),
    topic.partitions.map((p) => h("option", {value: p.partition}, String(p.partition))));
  const seek = h("select", {"data-testid": "seek-mode"}, h("option", {value: "newest"}, "Newest"),
    h("option", {value: "oldest"}, "Oldest"), h("option", {value: "offset"}, "Offset"),
    h("option", {value: "timestamp"}, "Timestamp"));
  const offset = h("input", {type: "number", min: 0, value: 0, "data-testid": "seek-offset", class: "w-offset"});
  const stamp = h("input", {type: "datetime-local", step: "0.001", "data-testid": "seek-time"});
  const offsetLabel = h("label", {hidden: true}, "Offset", offset);
  const stampLabel = h("label", {hidden: true}, "From time", stamp);
  const limit = h("select", {"data-testid": "seek-limit"}, [20, 50, 100, 500].map((n) =>
    h("option", {value: n, selected: n === 50}, String(n))));
  const filter = h("input", {type: "search", placeholder: "Text in key, value or headers", "data-testid": "seek-filter"});
  const uncommitted = h("input", {type: "checkbox", "data-testid": "isolation-toggle"});
  const liveBtn = h("button", {"aria-pressed": "false", "data-testid": "live-toggle"}, "Live tail");
  const more = h("button", {hidden: true, "data-testid": "msg-more"}, "Load more");
  const status = h("div", {class: "status-line", "data-testid": "msg-status"});
  const tbody = h("tbody", {"data-testid": "msg-rows"});
  const form = h("form", {class: "toolbar", "data-testid": "msg-form"},
    h("label", {}, "Partition", partition), h("label", {}, "Start from", seek), offsetLabel, stampLabel,
    h("label", {}, "Limit", limit), h("label", {class: "grow"}, "Filter", filter),
    h("label", {class: "check", title: "Also show records of open and aborted transactions, and the transaction markers"},
      uncommitted, "Show uncommitted"),
    h("button", {type: "submit", class: "primary", "data-testid": "msg-search"}, "Search"),
    h("div", {class: "push"}, liveBtn,
      h("button", {type: "button", "data-testid": "download-jsonl", onclick: () => download(topic.name, st.messages)}, "Download JSON lines")));

  seek.addEventListener("change", () => {
    offsetLabel.hidden = seek.value !== "offset";
    stampLabel.hidden = seek.value !== "timestamp";
    if (seek.value === "timestamp" && !stamp.value) stamp.value = toLocalInput(Date.now() - 3600e3);
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); search(false); });
  more.addEventListener("click", () => search(true));
  uncommitted.addEventListener("change", () => search(false));
  liveBtn.addEventListener("click", (e) => { e.preventDefault(); st.source ? stopLive() : startLive(); });

  function params(append) {
    const p = new URLSearchParams();
    if (append && st.next) {
      p.set("offsets", st.next.map((x) => `${x.partition}:${x.next_offset}`).join(","));
    } else {
      if (partition.value !== "all") p.set("partition", partition.value);
      if (seek.value === "oldest") p.set("offset", "0");
      if (seek.value === "offset") p.set("offset", offset.value || "0");
      if (seek.value === "timestamp") p.set("timestamp", String(new Date(stamp.value).getTime()));
    }
    p.set("limit", limit.value);
    if (filter.value) p.set("filter", filter.value);
    if (uncommitted.checked) p.set("isolation", "read_uncommitted");
    return p;
  }

  async function search(append) {
    stopLive();
    status.textContent = "Searching...";
    try {
      const r = await api(`/api/v1/topics/${enc(topic.name)}/messages?${params(append)}`);
      if (!append) { st.messages = []; tbody.replaceChildren(); }
      for (const m of r.messages) { st.messages.push(m); tbody.append(...messageRows(m, false)); }
      st.next = r.more ? r.partitions.filter((x) => x.next_offset < x.end_offset) : null;
      more.hidden = !r.more;
      status.replaceChildren(h("span", {"data-testid": "msg-count"}, `${st.messages.length} messages`),
        h("span", {}, `${fmtNum(r.scanned)} scanned`));
      if (!st.messages.length) tbody.append(h("tr", {class: "empty"}, h("td", {colspan: 6}, "No messages match.")));
    } catch (x) {
      status.textContent = x.message;
      toast(x.message, true);
    }
  }

  function startLive() {
    const p = new URLSearchParams();
    if (partition.value !== "all") p.set("partition", partition.value);
    if (filter.value) p.set("filter", filter.value);
    if (uncommitted.checked) p.set("isolation", "read_uncommitted");
    const es = new EventSource(`/api/v1/topics/${enc(topic.name)}/tail?${p}`);
    st.source = es;
    st.live = 0;
    liveBtn.setAttribute("aria-pressed", "true");
    more.hidden = true;
    status.replaceChildren(h("span", {class: "live-dot"}), h("span", {"data-testid": "live-status"}, "Live: waiting for records"));
    es.addEventListener("hello", () => {
      status.lastChild.textContent = "Live: connected, waiting for records";
    });
    es.addEventListener("record", (e) => {
      const m = JSON.parse(e.data);
      const empty = tbody.querySelector("tr.empty");
      if (empty) empty.remove();
      st.messages.unshift(m);
      tbody.prepend(...messageRows(m, true));
      st.live++;
      status.lastChild.textContent = `Live: ${st.live} new`;
      while (tbody.querySelectorAll("tr.msg-row").length > MAX_ROWS) {
        const last = tbody.querySelector("tr.msg-row:last-of-type");
        const detail = last.nextElementSibling;
        if (detail && detail.classList.contains("msg-detail")) detail.remove();
        last.remove();
        st.messages.pop();
      }
    });
    es.addEventListener("end", (e) => {
      const why = JSON.parse(e.data).reason;
      stopLive();
      toast(`Live tail ended: ${why}`, true);
    });
    es.onerror = () => {
      if (st.source === es) status.lastChild.textContent = "Live: reconnecting...";
    };
  }

  function stopLive() {
    if (!st.source) return;
    st.source.close();
    st.source = null;
    liveBtn.setAttribute("aria-pressed", "false");
    status.textContent = `Live tail stopped (${st.live} new)`;
  }

  body.replaceChildren(h("div", {class: "panel"}, form, status,
    h("table", {"data-testid": "msg-table"}, h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {class: "num"}, "Partition"),
      h("th", {class: "num"}, "Offset"), h("th", {}, "Timestamp"), h("th", {}, "Key"), h("th", {}, "Value"))), tbody),
    h("div", {class: "status-line"}, more)));
  search(false);
  return stopLive;
}

/* What a record is to transactions when uncommitted records are shown: a badge
 * (aborted, open, committed, or a COMMIT/ABORT marker), or null. */
function txnBadge(m) {
  if (m.control) {
    return h("span", {class: "badge txn-marker", "data-testid": "msg-txn", "data-txn": "marker",
      title: `transaction marker of producer ${m.producer_id}`}, `${m.control.toUpperCase()} marker`);
  }
  if (!m.txn) return null;
  return h("span", {class: `badge txn-${m.txn}`, "data-testid": "msg-txn", "data-txn": m.txn,
    title: `transactional record of producer ${m.producer_id}`}, m.txn);
}

/* A row and, on first click, its detail row below it. */
function messageRows(m, fresh) {
  const value = m.control ? h("td", {"data-testid": "msg-value"}) : previewCell(m.value, m.value_encoding, "msg-value");
  const badge = txnBadge(m);
  if (badge) value.prepend(badge, " ");
  const kind = m.control ? " txn-row-marker" : m.txn ? ` txn-row-${m.txn}` : "";
  const row = h("tr", {class: (fresh ? "msg-row new" : "msg-row") + kind, "data-testid": "msg-row",
    "data-partition": m.partition, "data-offset": m.offset},
    h("td", {class: "caret"}, "\u25b8"),
    h("td", {class: "num", "data-testid": "msg-partition"}, m.partition),
    h("td", {class: "num", "data-testid": "msg-offset"}, m.offset),
    h("td", {"data-testid": "msg-time", title: String(m.timestamp)}, fmtTime(m.timestamp)),
    m.control ? h("td", {"data-testid": "msg-key"}) : previewCell(m.key, m.key_encoding, "msg-key"),
    value);
  row.addEventListener("click", () => {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("msg-detail")) {
      next.remove();
      row.classList.remove("open");
      return;
    }
    row.classList.add("open");
    row.after(messageDetail(m));
  });
  return [row];
}

function messageDetail(m) {
  const v = showValue(m.value, m.value_encoding);
  const k = showValue(m.key, m.key_encoding);
  const copy = h("button", {class: "small", "data-testid": "msg-copy"}, "Copy");
  copy.addEventListener("click", async (e) => {
    e.stopPropagation();
    await copyText(v.text);
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = "Copy"; }, 1500);
  });
  const headers = (m.headers || []).map((x) => {
    const hv = showValue(x.value, x.value_encoding);
    const hk = showValue(x.key, x.key_encoding);
    return h("tr", {"data-testid": "msg-header-row"}, h("td", {}, hk.preview), h("td", {}, hv.preview));
  });
  const formatName = {json: "JSON", text: "text", hex: "binary (hex)", null: "null"}[v.format];
  return h("tr", {class: "msg-detail", "data-testid": "msg-detail"}, h("td", {colspan: 6},
    h("div", {class: "detail-grid"},
      h("div", {},
        h("h3", {}, "Value", h("span", {class: "badge", "data-testid": "msg-format"}, formatName), copy),
        h("pre", {class: "value", "data-testid": "msg-value-pretty", "data-format": v.format}, v.text),
        m.truncated ? h("p", {class: "muted"}, `Shown cut to the first 256 KiB of ${fmtBytes(m.value_size)}.`) : null),
      h("div", {},
        h("h3", {}, "Key"),
        h("pre", {class: "value", "data-testid": "msg-key-pretty", "data-format": k.format}, k.text),
        h("h3", {class: "gap"}, "Headers"),
        h("table", {class: "headers-table", "data-testid": "msg-headers"}, h("tbody", {}, headers.length ? headers :
          h("tr", {}, h("td", {class: "muted"}, "none")))),
        h("h3", {class: "gap"}, "Metadata"),
        h("dl", {class: "kv"},
          h("dt", {}, "partition"), h("dd", {}, m.partition),
          h("dt", {}, "offset"), h("dd", {}, m.offset),
          h("dt", {}, "timestamp"), h("dd", {}, `${m.timestamp} (${new Date(m.timestamp).toISOString()})`),
          h("dt", {}, "key size"), h("dd", {}, fmtBytes(m.key_size)),
          h("dt", {}, "value size"), h("dd", {}, fmtBytes(m.value_size)))))));
}

function download(topic, messages) {
  const lines = messages.map((m) => JSON.stringify(Object.assign({topic}, m))).join("\n");
  const blob = new Blob([lines ? lines + "\n" : ""], {type: "application/x-ndjson"});
  const a = h("a", {href: URL.createObjectURL(blob), download: `${topic}-messages.jsonl`});
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

/* ---- produce ---- */

function openProduce(topic) {
  const dlg = document.getElementById("produce-dialog");
  const form = document.getElementById("produce-form");
  const result = dlg.querySelector("[data-testid=produce-result]");
  const err = dlg.querySelector("[data-testid=produce-error]");
  document.getElementById("produce-topic").textContent = topic.name;
  form.partition.replaceChildren(h("option", {value: "auto"}, "auto (by key)"),
    ...topic.partitions.map((p) => h("option", {value: p.partition}, String(p.partition))));
  result.hidden = err.hidden = true;
  form.onsubmit = async (e) => {
    e.preventDefault();
    result.hidden = err.hidden = true;
    const headers = [];
    for (const line of form.headers.value.split("\n")) {
      const i = line.indexOf("=");
      if (line.trim()) headers.push({key: i < 0 ? line.trim() : line.slice(0, i), value: i < 0 ? "" : line.slice(i + 1)});
    }
    const encoding = form.encoding.value;
    const rec = {
      partition: form.partition.value === "auto" ? "auto" : Number(form.partition.value),
      key: form.key.value === "" ? null : form.key.value,
      value: encoding === "null" ? null : form.value.value,
      value_encoding: encoding === "base64" ? "base64" : "text",
      headers,
    };
    try {
      const r = await api(`/api/v1/topics/${enc(topic.name)}/messages`, {json: rec});
      result.dataset.partition = r.partition;
      result.dataset.offset = r.offset;
      result.textContent = `Produced to partition ${r.partition} at offset ${r.offset}.`;
      result.hidden = false;
    } catch (x) {
      err.textContent = x.message;
      err.hidden = false;
    }
  };
  dlg.showModal();
}

/* ---- consumer groups ---- */

async function viewGroups(main) {
  setSection("groups");
  const data = await api("/api/v1/groups");
  const rows = data.groups.map((g) => h("tr", {"data-testid": "group-row", "data-group": g.group},
    h("td", {}, h("a", {href: "#/groups/" + enc(g.group), "data-testid": "group-link"}, g.group)),
    h("td", {}, h("span", {class: "badge state-" + g.state, "data-testid": "group-state"}, g.state)),
    h("td", {class: "num", "data-testid": "group-members"}, g.members),
    h("td", {}, g.topics.join(", ")),
    h("td", {class: "num", "data-testid": "group-lag"}, fmtNum(g.lag))));
  main.replaceChildren(
    viewHead("Consumer groups", h("span", {class: "badge"}, String(data.groups.length)),
      h("div", {class: "actions"}, h("button", {onclick: route, "data-testid": "refresh"}, "Refresh"))),
    h("div", {class: "panel"}, table([["Group"], ["State"], ["Members", "num"], ["Topics"], ["Lag", "num"]],
      rows, "No consumer groups yet.", {"data-testid": "groups-table"})));
}

async function viewGroup(main, id) {
  setSection("groups");
  const g = await api("/api/v1/groups/" + enc(id));
  const members = g.members.map((m) => h("tr", {"data-testid": "member-row"},
    h("td", {class: "mono"}, m.member_id), h("td", {}, m.client_id), h("td", {}, m.client_host),
    h("td", {}, m.assignment.map((a) => `${a.topic} [${a.partitions.join(", ")}]`).join("; ") || "-")));
  const offsets = g.offsets.map((o) => h("tr", {"data-testid": "offset-row", "data-topic": o.topic, "data-partition": o.partition},
    h("td", {}, h("a", {href: "#/topics/" + enc(o.topic)}, o.topic)),
    h("td", {class: "num"}, o.partition),
    h("td", {class: "num", "data-testid": "offset-committed"}, fmtNum(o.committed)),
    h("td", {class: "num", "data-testid": "offset-end"}, fmtNum(o.end_offset)),
    h("td", {class: "num", "data-testid": "offset-lag"}, fmtNum(o.lag)),
    h("td", {class: "mono muted"}, o.member_id || "")));
  main.replaceChildren(
    viewHead(h("span", {"data-testid": "group-name"}, g.group),
      h("span", {class: "badge state-" + g.state, "data-testid": "group-state"}, g.state),
      h("div", {class: "actions"}, h("button", {onclick: route, "data-testid": "refresh"}, "Refresh"))),
    h("div", {class: "chips"},
      chip("members", fmtNum(g.members.length), "group-member-count"),
      chip("total lag", fmtNum(g.lag), "group-total-lag"),
      chip("generation", fmtNum(g.generation)),
      chip("protocol", g.protocol || "-"),
      chip("type", g.type || "classic", "group-type")),
    Charts.group(g.group), /* charts.js: lag over time */
    h("div", {class: "panel"}, h("h2", {}, "Offsets"),
      table([["Topic"], ["Partition", "num"], ["Committed", "num"], ["End offset", "num"], ["Lag", "num"], ["Member"]],
        offsets, "No committed offsets.", {"data-testid": "offsets-table"})),
    h("div", {class: "panel"}, h("h2", {}, "Members"),
      table([["Member id"], ["Client id"], ["Host"], ["Assignment"]], members, "No members (the group is empty).")),
    resetPanel(g));
}

function resetPanel(g) {
  if (app.readOnly) return null;
  const panel = h("div", {class: "panel"}, h("h2", {}, "Reset offsets"));
  if (g.state !== "Empty") {
    panel.append(h("p", {class: "note"}, "Offsets can be reset while the group is Empty: stop its consumers first."));
    return panel;
  }
  const topics = [...new Set(g.offsets.map((o) => o.topic))];
  const topic = h("input", {list: "reset-topics", value: topics[0] || "", "data-testid": "reset-topic"});
  const to = h("select", {"data-testid": "reset-to"}, ["earliest", "latest", "offset", "timestamp"].map((x) => h("option", {value: x}, x)));
  const value = h("input", {placeholder: "offset or epoch ms", "data-testid": "reset-value", class: "w-value"});
  const button = h("button", {class: "primary", "data-testid": "reset-offsets-button"}, "Reset");
  button.addEventListener("click", async () => {
    const body = {topic: topic.value, to: to.value};
    if (to.value === "offset") body.offset = Number(value.value);
    if (to.value === "timestamp") body.timestamp = Number(value.value);
    try {
      const r = await api(`/api/v1/groups/${enc(g.group)}/offsets`, {json: body});
      toast(`Reset ${r.offsets.length} partitions of ${r.topic}`);
      route();
    } catch (x) {
      toast(x.message, true);
    }
  });
  panel.append(h("div", {class: "inline-form"},
    h("datalist", {id: "reset-topics"}, topics.map((t) => h("option", {value: t}))),
    h("label", {}, "Topic", topic), h("label", {}, "To", to), h("label", {}, "Offset / time", value), button));
  return panel;
}

/* ---- broker ---- */

async function viewBroker(main) {
  setSection("broker");
  const b = await api("/api/v1/broker");
  let query = "";
  const holder = h("div");
  const draw = () => {
    const rows = b.config.filter((c) => c.name.includes(query)).map((c) =>
      h("tr", {class: c.source === "static" ? "overridden" : null, "data-testid": "broker-config-row", "data-name": c.name},
        h("td", {class: "mono"}, c.name), h("td", {class: "mono"}, c.sensitive ? h("span", {class: "muted"}, "(hidden)") : c.value),
        h("td", {}, c.source === "static" ? h("span", {class: "badge warn"}, "set") : h("span", {class: "muted"}, "default"))));
    holder.replaceChildren(table([["Name"], ["Value"], ["Source"]], rows, "No match."));
  };
  main.replaceChildren(
    viewHead("Broker", h("span", {class: "badge"}, "node " + b.node_id)),
    h("div", {class: "chips"},
      chip("cluster id", b.cluster_id, "broker-cluster"),
      chip("kafka listeners", b.listeners.join(", "), "broker-listeners"),
      chip("advertised", b.advertised),
      chip("console", b.console + (b.read_only ? " (read-only)" : "")),
      chip("connections", fmtNum(b.connections))),
    h("div", {class: "panel"}, h("h2", {}, "Configuration"),
      h("div", {class: "toolbar"}, h("label", {class: "grow"}, "Search",
        h("input", {type: "search", placeholder: "Key", "data-testid": "broker-config-search",
          oninput: (e) => { query = e.target.value; draw(); }}))),
      holder));
  draw();
}

/* ---- routing ---- */

const routes = [
  [/^#\/topics\/?$/, viewTopics],
  [/^#\/topics\/([^/]+)(?:\/(messages|partitions|config))?$/, viewTopic],
  [/^#\/groups\/?$/, viewGroups],
  [/^#\/groups\/(.+)$/, viewGroup],
  [/^#\/broker\/?$/, viewBroker],
  [/^#\/metrics\/?$/, (main) => Charts.metricsView(main)], /* charts.js */
];

async function route() {
  const main = document.getElementById("main");
  if (app.cleanup) app.cleanup();
  app.cleanup = null;
  const hash = location.hash || "#/topics";
  for (const [re, view] of routes) {
    const m = re.exec(hash);
    if (!m) continue;
    try {
      const args = m.slice(1).map((x) => (x === undefined ? undefined : decodeURIComponent(x)));
      const cleanup = await view(main, ...args);
      if (typeof cleanup === "function") app.cleanup = cleanup;
    } catch (err) {
      errorView(main, err);
    }
    return;
  }
  location.hash = "#/topics";
}

/* Buttons marked data-close close their dialog without submitting its form. */
function wireDialogs() {
  for (const b of document.querySelectorAll("dialog [data-close]"))
    b.addEventListener("click", () => b.closest("dialog").close());
}

/* The login form, alone on the page: nothing else is asked of the API until a
   login succeeds, and then the page starts again with the session. */
function showLogin() {
  if (document.body.classList.contains("logged-out")) return;
  document.body.classList.add("logged-out");
  if (app.cleanup) app.cleanup();
  app.cleanup = null;
  const error = h("p", {class: "result bad", "data-testid": "login-error", hidden: true});
  const form = h("form", {class: "form login", "data-testid": "login-form"},
    h("h2", {}, "Log in to brook"),
    h("label", {}, "User",
      h("input", {name: "user", autocomplete: "username", required: true, "data-testid": "login-user"})),
    h("label", {}, "Password",
      h("input", {name: "password", type: "password", autocomplete: "current-password",
        "data-testid": "login-password"})),
    error,
    h("button", {type: "submit", class: "primary", "data-testid": "login-submit"}, "Log in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      await api("/api/v1/login", {json: {user: f.get("user"), password: f.get("password")}});
      location.reload();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
  const main = document.getElementById("main");
  main.replaceChildren(form);
  document.body.dataset.ready = "true";
}

async function logout() {
  try {
    await api("/api/v1/logout", {method: "POST"});
  } finally {
    location.reload();
  }
}

/* Who is asking: false when the page must show the login form first. */
async function session() {
  const r = await fetch("/api/v1/session");
  if (r.status === 401) return false;
  const s = await r.json().catch(() => ({}));
  app.csrf = s.csrf || "";
  app.user = s.user || null;
  if (app.user) {
    const who = document.querySelector("[data-testid=user]");
    who.textContent = app.user;
    who.hidden = false;
    document.querySelector("[data-testid=logout]").hidden = false;
  }
  return true;
}

async function boot() {
  wireDialogs();
  document.querySelector("[data-testid=logout]").addEventListener("click", logout);
  try {
    if (!(await session())) {
      showLogin();
      return;
    }
  } catch (err) {
    toast("Cannot reach the broker: " + err.message, true);
  }
  try {
    app.broker = await api("/api/v1/broker");
    app.readOnly = app.broker.read_only;
    document.querySelector("[data-testid=cluster-id]").textContent = app.broker.cluster_id;
    document.querySelector("[data-testid=broker-address]").textContent = "kafka " + app.broker.advertised;
    document.querySelector("[data-testid=read-only-badge]").hidden = !app.readOnly;
    document.body.classList.toggle("read-only", app.readOnly);
  } catch (err) {
    toast("Cannot reach the broker: " + err.message, true);
  }
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "true";
}

boot();
