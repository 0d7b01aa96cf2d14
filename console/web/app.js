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
 * other text as it is, and binary as a hex dump with an ASCII column - in rows,
 * details and headers alike.
 *
 * Times: one switch in the top bar (UTC or the browser's local zone, kept in
 * localStorage) decides every time shown and how a time typed without a zone is
 * read. Times are written as ISO 8601 with their zone (2025-01-31T14:05:09.250Z,
 * 2025-01-31T15:05:09.250+01:00), which `brook consume -o @TIME` also reads.
 *
 * Pages: `routes` (near the end) is the one list of pages - a hash pattern and
 * the view that draws it; a new page is one line there and, if it has a section,
 * one link in index.html's sidebar. Long lists (topics, groups) are drawn a page
 * of rows at a time by listView(), sortable by any column.
 */

const MAX_ROWS = 1000; /* rows kept in the message table while tailing */

const app = {
  broker: null,   /* GET /api/v1/broker, loaded once */
  readOnly: true, /* until the broker says otherwise: never show a write action early */
  cleanup: null,  /* the current view's cleanup function */
  csrf: "",       /* the session's CSRF token (GET /api/v1/session) */
  user: null,     /* who is logged in, or null without a login */
  tz: localStorage.getItem("brook.tz") === "utc" ? "utc" : "local", /* how times are shown */
};

const PAGE_ROWS = 100; /* rows of a topic or group list drawn at once */

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

/* "1 message", "2 messages" */
function plural(n, one, many) {
  return `${fmtNum(n)} ${n === 1 ? one : many || one + "s"}`;
}

/* The zone suffix of a time in the chosen zone: "Z" or "+05:30". */
function zoneOf(d) {
  if (app.tz === "utc") return "Z";
  const off = -d.getTimezoneOffset();
  return (off < 0 ? "-" : "+") + pad(Math.floor(Math.abs(off) / 60)) + ":" + pad(Math.abs(off) % 60);
}

/* A time in the chosen zone, ISO 8601 with its zone and milliseconds:
   2025-01-31T14:05:09.123Z or 2025-01-31T19:35:09.123+05:30 */
function fmtTime(ms) {
  if (ms === null || ms === undefined || ms < 0) return "-";
  const d = new Date(ms);
  const u = app.tz === "utc";
  const f = (local, utc) => (u ? d[utc]() : d[local]());
  return `${f("getFullYear", "getUTCFullYear")}-${pad(f("getMonth", "getUTCMonth") + 1)}-` +
    `${pad(f("getDate", "getUTCDate"))}T${pad(f("getHours", "getUTCHours"))}:` +
    `${pad(f("getMinutes", "getUTCMinutes"))}:${pad(f("getSeconds", "getUTCSeconds"))}.` +
    `${pad(d.getMilliseconds(), 3)}${zoneOf(d)}`;
}

/* A typed time as milliseconds since the epoch, in the syntax brook consume's
   -o @TIME reads: epoch milliseconds, -1h / -30m / -10s / -2d / -500ms from now,
   or YYYY-MM-DD[THH:MM[:SS[.mmm]]] with Z or +HH:MM; without a zone the time is
   read in the zone the switch shows. NaN when it is none of these. */
function parseTime(text) {
  const s = text.trim().replace(/^@/, "");
  if (/^\d+$/.test(s)) return Number(s);
  const rel = /^([-+])(\d+)(ms|s|m|h|d)$/.exec(s);
  if (rel) {
    const unit = {ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5}[rel[3]];
    return Date.now() + (rel[1] === "-" ? -1 : 1) * Number(rel[2]) * unit;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d{1,3}))?)?(Z|[-+]\d{2}:\d{2})?$/.exec(s);
  if (!m) return NaN;
  const [y, mo, d, hh, mi, ss, frac] = m.slice(1, 8).map((x, i) => (i === 6 ? Number((x || "0").padEnd(3, "0")) : Number(x || 0)));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mi > 59 || ss > 60) return NaN;
  const zone = m[8];
  if (!zone && app.tz === "local") return new Date(y, mo - 1, d, hh, mi, ss, frac).getTime();
  let ms = Date.UTC(y, mo - 1, d, hh, mi, ss, frac);
  if (zone && zone !== "Z") {
    const off = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 6e4;
    ms -= zone[0] === "-" ? -off : off;
  }
  return ms;
}

/* A word for a shell: quoted unless it is plainly safe. */
function shellWord(s) {
  return /^[A-Za-z0-9_.,:\/@%+=-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
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

/* One line of binary for a row or a header cell: the first 16 bytes in hex and
   the same bytes as ASCII, as the first line of the dump shows them. */
function hexPreview(bytes) {
  const row = bytes.subarray(0, 16);
  const text = Array.from(row, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
  return Array.from(row, hex2).join(" ") + (bytes.length > 16 ? " ..." : "") + "  |" + text + "|";
}

/* How to show one key or value: {format: json|text|hex|null, text, preview}. */
function showValue(value, encoding) {
  if (value === null || value === undefined) return {format: "null", text: "null", preview: "null"};
  if (encoding === "base64") {
    const bytes = base64Bytes(value);
    return {format: "hex", text: hexDump(bytes), preview: hexPreview(bytes)};
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
  return scrollBox(h("table", attrs || {}, h("thead", {}, head), body));
}

/*
 * A list drawn a page of rows at a time, sortable by any column: the answer to
 * "10 000 topics" is 100 rows in the DOM, not 10 000. columns: [{label, key:
 * item => sort value, cls, id}]; rowFn(item) builds one <tr>. Returns {el,
 * draw(items)}; draw keeps the sort and goes back to the first page.
 */
function listView(columns, rowFn, emptyText, attrs, name) {
  const st = {items: [], page: 0, sort: null, desc: false};
  const thead = h("tr");
  const tbody = h("tbody");
  const info = h("span", {"data-testid": `${name}-page-info`});
  const prev = h("button", {class: "small", "data-testid": `${name}-page-prev`, onclick: () => go(st.page - 1)}, "\u2039 Previous");
  const next = h("button", {class: "small", "data-testid": `${name}-page-next`, onclick: () => go(st.page + 1)}, "Next \u203a");
  const pager = h("div", {class: "status-line pager", "data-testid": `${name}-pager`}, info, prev, next);
  for (const c of columns) {
    const th = h("th", {class: c.cls || null, "aria-sort": "none"},
      h("button", {type: "button", class: "sort", "data-testid": `sort-${c.id}`, onclick: () => sortBy(c, th)}, c.label));
    thead.append(th);
  }
  function sortBy(c, th) {
    st.desc = st.sort === c ? !st.desc : false;
    st.sort = c;
    for (const x of thead.children) x.setAttribute("aria-sort", "none");
    th.setAttribute("aria-sort", st.desc ? "descending" : "ascending");
    sorted();
    go(0);
  }
  function sorted() {
    if (!st.sort) return;
    const k = st.sort.key;
    const dir = st.desc ? -1 : 1;
    st.items.sort((a, b) => {
      const x = k(a);
      const y = k(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === "string" ? x.localeCompare(y) : x < y ? -1 : 1) * dir;
    });
  }
  function go(page) {
    const pages = Math.max(1, Math.ceil(st.items.length / PAGE_ROWS));
    st.page = Math.min(Math.max(0, page), pages - 1);
    const from = st.page * PAGE_ROWS;
    const shown = st.items.slice(from, from + PAGE_ROWS);
    tbody.replaceChildren(...(shown.length ? shown.map(rowFn) :
      [h("tr", {class: "empty"}, h("td", {colspan: columns.length}, emptyText))]));
    info.textContent = st.items.length ? `${fmtNum(from + 1)}\u2013${fmtNum(from + shown.length)} of ${fmtNum(st.items.length)}` : "";
    prev.disabled = st.page === 0;
    next.disabled = st.page >= pages - 1;
    pager.hidden = pages < 2;
  }
  const el = h("div", {},
    h("div", {class: "scroll-box"}, h("table", attrs || {}, h("thead", {}, thead), tbody)), pager);
  return {el, draw(items) { st.items = items.slice(); sorted(); go(0); }};
}

/* A table in a box of its own that scrolls sideways when the screen is narrower
   than the table, so the page never does. */
function scrollBox(el) {
  return h("div", {class: "scroll-box"}, el);
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
  const list = listView([
    {label: "Name", id: "name", key: (t) => t.name},
    {label: "Partitions", id: "partitions", cls: "num", key: (t) => t.partition_count},
    {label: "Messages", id: "messages", cls: "num", key: (t) => t.messages},
    {label: "Size", id: "size", cls: "num", key: (t) => t.size_bytes},
    {label: "Cleanup policy", id: "cleanup", key: (t) => t.cleanup_policy},
  ], (t) => h("tr", {"data-testid": "topic-row", "data-topic": t.name},
    h("td", {class: "name"}, h("a", {href: "#/topics/" + enc(t.name), "data-testid": "topic-link"}, t.name),
      t.internal ? h("span", {class: "badge"}, " internal") : null),
    h("td", {class: "num", "data-testid": "topic-partitions"}, t.partition_count),
    h("td", {class: "num", "data-testid": "topic-messages"}, fmtNum(t.messages)),
    h("td", {class: "num", "data-testid": "topic-size"}, fmtBytes(t.size_bytes)),
    h("td", {}, t.cleanup_policy)), "No topics yet.", {"data-testid": "topics-table"}, "topics");
  const badge = h("span", {class: "badge", "data-testid": "topic-count"});
  const draw = () => {
    const all = data.topics.filter((t) => showInternal || !t.internal);
    const topics = all.filter((t) => t.name.toLowerCase().includes(query.toLowerCase()));
    badge.textContent = topics.length === all.length ? fmtNum(all.length) : `${fmtNum(topics.length)} of ${fmtNum(all.length)}`;
    badge.title = plural(topics.length, "topic") + " shown";
    list.draw(topics);
  };
  const create = app.readOnly ? null :
    h("button", {class: "primary", "data-testid": "create-topic-button", onclick: () => openCreateTopic()},
      "Create topic");
  main.replaceChildren(
    viewHead("Topics", badge,
      h("div", {class: "actions"}, h("button", {onclick: route, "data-testid": "refresh"}, "Refresh"), create)),
    h("div", {class: "panel"},
      h("div", {class: "toolbar"},
        h("label", {class: "grow"}, "Search",
          h("input", {type: "search", placeholder: "Topic name", "data-testid": "topic-search",
            oninput: (e) => { query = e.target.value; draw(); }})),
        h("label", {}, "Internal topics",
          h("select", {"data-testid": "topic-internal", onchange: (e) => { showInternal = e.target.value === "show"; draw(); }},
            h("option", {value: "hide"}, "hide"), h("option", {value: "show"}, "show")))),
      list.el));
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
    manageTopicActions(actions, t); /* manage.js */
  }
  const body = h("div");
  const chips = h("div", {class: "chips"});
  const drawChips = (x) => chips.replaceChildren(
    chip("partitions", fmtNum(x.partition_count), "topic-partition-count"),
    chip(x.messages === 1 ? "message" : "messages", fmtNum(x.messages), "topic-message-count"),
    chip("size", fmtBytes(x.size_bytes), "topic-size-total"),
    chip("cleanup policy", x.cleanup_policy, "topic-cleanup"));
  drawChips(t);
  /* the counts again, at most every 500 ms: after a produce, and while a live tail adds records */
  let pending = null;
  t.refreshCounts = () => {
    if (pending) return;
    pending = setTimeout(async () => {
      try { drawChips(await api("/api/v1/topics/" + enc(name))); } catch (e) { /* the next one will tell */ }
      pending = null;
    }, 500);
  };
  main.replaceChildren(
    viewHead(h("span", {"data-testid": "topic-name"}, t.name), t.internal ? h("span", {class: "badge"}, "internal") : null, actions),
    chips,
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
  /* seq: the search whose answer is wanted (an older answer arriving late is dropped);
     prev/next: where "Older" and "Load more" continue, per partition */
  const st = {messages: [], next: null, prev: null, source: null, live: 0, seq: 0, sort: null, desc: false, mode: "newest"};
  const partition = h("select", {"data-testid": "seek-partition"}, h("option", {value: "all"}, "All"),
    topic.partitions.map((p) => h("option", {value: p.partition}, String(p.partition))));
  const seek = h("select", {"data-testid": "seek-mode"}, h("option", {value: "newest"}, "Newest"),
    h("option", {value: "oldest"}, "Oldest"), h("option", {value: "offset"}, "Offset"),
    h("option", {value: "timestamp"}, "Timestamp"));
  const offset = h("input", {type: "number", min: 0, value: 0, "data-testid": "seek-offset", class: "w-offset"});
  const stamp = h("input", {type: "text", spellcheck: "false", "data-testid": "seek-time", class: "w-time",
    placeholder: "2025-01-31T14:05Z or -1h", title: "as brook consume -o @TIME reads it: ISO 8601 with Z or +HH:MM (without one: the zone in the top bar), epoch ms, or -1h / -30m from now"});
  const offsetLabel = h("label", {hidden: true}, "Offset", offset);
  const stampLabel = h("label", {hidden: true}, "From time", stamp);
  const limit = h("select", {"data-testid": "seek-limit"}, [20, 50, 100, 500].map((n) =>
    h("option", {value: n, selected: n === 50}, String(n))));
  const filter = h("input", {type: "search", placeholder: "Text in key, value or headers", "data-testid": "seek-filter"});
  const uncommitted = h("input", {type: "checkbox", "data-testid": "isolation-toggle"});
  const liveBtn = h("button", {type: "button", "aria-pressed": "false", "data-testid": "live-toggle"}, "Live tail");
  const more = h("button", {type: "button", hidden: true, "data-testid": "msg-more"}, "Load more");
  const older = h("button", {type: "button", hidden: true, "data-testid": "msg-older"}, "Older");
  const status = h("div", {class: "status-line", "data-testid": "msg-status"});
  const tbody = h("tbody", {"data-testid": "msg-rows"});
  const commands = h("div", {class: "commands", hidden: true, "data-testid": "commands"});
  const form = h("form", {class: "toolbar", "data-testid": "msg-form"},
    h("label", {}, "Partition", partition), h("label", {}, "Start from", seek), offsetLabel, stampLabel,
    h("label", {}, "Limit", limit), h("label", {class: "grow"}, "Filter", filter),
    h("label", {class: "check", title: "Also show records of open and aborted transactions, and the transaction markers"},
      uncommitted, "Show uncommitted"),
    h("button", {type: "submit", class: "primary", "data-testid": "msg-search"}, "Search"),
    h("div", {class: "push"}, liveBtn,
      h("button", {type: "button", "data-testid": "copy-command", onclick: () => showCommands()}, "Copy as command"),
      h("button", {type: "button", "data-testid": "download-jsonl", onclick: () => download(topic.name, st.messages)}, "Download JSON lines")));

  seek.addEventListener("change", () => {
    offsetLabel.hidden = seek.value !== "offset";
    stampLabel.hidden = seek.value !== "timestamp";
    if (seek.value === "timestamp" && !stamp.value) stamp.value = fmtTime(Date.now() - 3600e3);
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); search("new"); });
  more.addEventListener("click", () => search("more"));
  older.addEventListener("click", () => search("older"));
  uncommitted.addEventListener("change", () => search("new"));
  liveBtn.addEventListener("click", (e) => { e.preventDefault(); st.source ? stopLive() : startLive(); });
  topic.onProduced = () => { if (!st.source) search("new"); };

  function params(kind) {
    const p = new URLSearchParams();
    const at = (list, field) => list.map((x) => `${x.partition}:${x[field]}`).join(",");
    if (kind === "more" && st.next) {
      p.set("offsets", at(st.next, "next_offset"));
    } else if (kind === "older" && st.prev) {
      p.set("before", at(st.prev, "prev_offset"));
    } else {
      if (partition.value !== "all") p.set("partition", partition.value);
      if (seek.value === "oldest") p.set("offset", "0");
      if (seek.value === "offset") p.set("offset", offset.value || "0");
      if (seek.value === "timestamp") {
        const ms = parseTime(stamp.value);
        if (Number.isNaN(ms)) throw new Error(`"${stamp.value}" is not a time: write 2025-01-31T14:05:09Z, +HH:MM for a zone, epoch ms, or -1h`);
        p.set("timestamp", String(Math.max(0, ms)));
      }
    }
    p.set("limit", limit.value);
    if (filter.value) p.set("filter", filter.value);
    if (uncommitted.checked) p.set("isolation", "read_uncommitted");
    return p;
  }

  function countLine(extra) {
    status.replaceChildren(h("span", {"data-testid": "msg-count"}, plural(st.messages.length, "message") + " shown"), ...extra);
  }

  async function search(kind) {
    stopLive();
    const seq = ++st.seq;
    status.textContent = "Searching...";
    try {
      const r = await api(`/api/v1/topics/${enc(topic.name)}/messages?${params(kind)}`);
      if (seq !== st.seq || st.source) return; /* a newer search or a live tail took over */
      if (kind === "new") { st.messages = []; st.mode = r.mode; }
      st.messages.push(...r.messages);
      st.next = r.more ? r.partitions.filter((x) => x.next_offset < x.end_offset) : null;
      st.prev = r.older ? r.partitions.filter((x) => x.prev_offset > x.log_start_offset) : null;
      more.hidden = !r.more;
      older.hidden = !r.older;
      drawRows();
      countLine([h("span", {}, `${fmtNum(r.scanned)} scanned`)]);
    } catch (x) {
      if (seq !== st.seq) return;
      status.textContent = x.message;
      toast(x.message, true);
    }
  }

  /* The rows, in the order of the answer or of the column clicked. */
  function drawRows() {
    const list = st.messages.slice();
    if (st.sort) {
      const dir = st.desc ? -1 : 1;
      const k = st.sort;
      list.sort((a, b) => {
        const x = k(a);
        const y = k(b);
        return (x === y ? 0 : typeof x === "string" ? x.localeCompare(y) : x < y ? -1 : 1) * dir;
      });
    }
    tbody.replaceChildren(...list.flatMap((m) => messageRows(m, false)));
    if (!list.length) tbody.append(h("tr", {class: "empty"}, h("td", {colspan: 6}, "No messages match.")));
  }

  function startLive() {
    const p = new URLSearchParams();
    if (partition.value !== "all") p.set("partition", partition.value);
    if (filter.value) p.set("filter", filter.value);
    if (uncommitted.checked) p.set("isolation", "read_uncommitted");
    const es = new EventSource(`/api/v1/topics/${enc(topic.name)}/tail?${p}`);
    st.seq++; /* an answer still on its way is not wanted any more */
    st.source = es;
    st.live = 0;
    liveBtn.setAttribute("aria-pressed", "true");
    more.hidden = older.hidden = true;
    const live = h("span", {"data-testid": "live-status"}, "Live: waiting for records");
    countLine([h("span", {class: "live-dot"}), live]);
    es.addEventListener("hello", () => {
      live.textContent = "Live: connected, waiting for records";
    });
    es.addEventListener("record", (e) => {
      const m = JSON.parse(e.data);
      const empty = tbody.querySelector("tr.empty");
      if (empty) empty.remove();
      st.messages.unshift(m);
      tbody.prepend(...messageRows(m, true));
      st.live++;
      while (tbody.querySelectorAll("tr.msg-row").length > MAX_ROWS) {
        const last = tbody.querySelector("tr.msg-row:last-of-type");
        const detail = last.nextElementSibling;
        if (detail && detail.classList.contains("msg-detail")) detail.remove();
        last.remove();
        st.messages.pop();
      }
      live.textContent = `Live: ${fmtNum(st.live)} new`;
      status.querySelector("[data-testid=msg-count]").textContent = plural(st.messages.length, "message") + " shown";
      if (topic.refreshCounts) topic.refreshCounts();
    });
    es.addEventListener("end", (e) => {
      const why = JSON.parse(e.data).reason;
      stopLive();
      toast(`Live tail ended: ${why}`, true);
    });
    es.onerror = () => {
      if (st.source === es) live.textContent = "Live: reconnecting...";
    };
  }

  function stopLive() {
    if (!st.source) return;
    st.source.close();
    st.source = null;
    liveBtn.setAttribute("aria-pressed", "false");
    countLine([h("span", {}, `live tail stopped (${fmtNum(st.live)} new)`)]);
  }

  /* The brook consume and kcat lines that read what this view shows. */
  function showCommands() {
    const c = viewCommands(topic.name, {partition: partition.value, seek: seek.value, offset: offset.value,
      time: stamp.value, limit: Number(limit.value), filter: filter.value, uncommitted: uncommitted.checked,
      live: !!st.source});
    const line = (id, label, text) => {
      const b = h("button", {type: "button", class: "small", "data-testid": `copy-${id}`}, "Copy");
      b.addEventListener("click", async () => { await copyText(text); b.textContent = "Copied"; });
      return h("div", {class: "command"}, h("span", {class: "muted"}, label),
        h("code", {"data-testid": `command-${id}`}, text), b);
    };
    commands.replaceChildren(line("brook", "brook", c.brook), line("kcat", "kcat", c.kcat),
      c.note ? h("p", {class: "muted", "data-testid": "command-note"}, c.note) : null);
    commands.hidden = false;
  }

  const sortHead = (label, id, key, cls) => {
    const th = h("th", {class: cls || null, "aria-sort": "none"});
    th.append(h("button", {type: "button", class: "sort", "data-testid": `sort-${id}`, onclick: () => {
      st.desc = st.sort === key ? !st.desc : false;
      st.sort = key;
      for (const x of th.parentNode.children) x.setAttribute("aria-sort", "none");
      th.setAttribute("aria-sort", st.desc ? "descending" : "ascending");
      drawRows();
    }}, label));
    return th;
  };
  const keyText = (m) => (m.key === null || m.key === undefined ? "" : m.key);
  body.replaceChildren(h("div", {class: "panel"}, form, commands, status,
    h("div", {class: "scroll-box"}, h("table", {class: "messages", "data-testid": "msg-table"},
      h("colgroup", {}, h("col", {class: "c-caret"}), h("col", {class: "c-part"}), h("col", {class: "c-off"}),
        h("col", {class: "c-time"}), h("col", {class: "c-key"}), h("col", {})),
      h("thead", {}, h("tr", {}, h("th", {}, ""), sortHead("Partition", "partition", (m) => m.partition, "num"),
        sortHead("Offset", "offset", (m) => m.offset, "num"), sortHead(`Timestamp (${app.tz === "utc" ? "UTC" : "local"})`, "timestamp", (m) => m.timestamp),
        sortHead("Key", "key", keyText), sortHead("Value", "value", (m) => m.value_size))), tbody)),
    h("div", {class: "status-line"}, older, more)));
  search("new");
  return stopLive;
}

/* The command lines that read what the message browser shows: brook consume and
 * kcat, from the same partition and position, as many records, at the same
 * isolation. A filter has no flag in either, so it becomes a grep. */
function viewCommands(topic, v) {
  const broker = app.broker ? app.broker.advertised : "localhost:9092";
  const brook = ["brook", "-b", broker, "consume", topic];
  const kcat = ["kcat", "-b", broker, "-C", "-t", topic];
  let note = "";
  if (v.partition !== "all") { brook.push("-p", v.partition); kcat.push("-p", v.partition); }
  if (v.live) {
    brook.push("-o", "end");
    kcat.push("-o", "end");
  } else if (v.seek === "newest") {
    brook.push("-o", `-${v.limit}`);
    kcat.push("-o", `-${v.limit}`);
    if (v.partition === "all") note = `Both read the last ${v.limit} records of each partition; the page shows the newest ${v.limit} of them all.`;
  } else {
    let at = "beginning";
    let kat = "beginning";
    if (v.seek === "offset") { at = String(Number(v.offset) || 0); kat = at; }
    if (v.seek === "timestamp") {
      const ms = parseTime(v.time);
      at = "@" + (Number.isNaN(ms) ? v.time : fmtTime(ms));
      kat = "s@" + (Number.isNaN(ms) ? v.time : ms);
    }
    brook.push("-o", at);
    kcat.push("-o", kat);
  }
  if (!v.live) {
    if (!v.filter && (v.partition !== "all" || v.seek !== "newest")) { brook.push("-c", String(v.limit)); kcat.push("-c", String(v.limit)); }
    brook.push("-e");
    kcat.push("-e");
  }
  if (v.uncommitted) brook.push("--isolation", "read_uncommitted");
  else kcat.push("-X", "isolation.level=read_committed");
  const grep = v.filter ? ` | grep -iF ${shellWord(v.filter)}` + (v.live ? "" : ` | head -n ${v.limit}`) : "";
  if (v.partition === "all" && v.seek !== "newest" && !v.live && !v.filter)
    note = note || "With every partition, both stop after that many records in the order they arrive; the page orders them by time.";
  return {brook: brook.map(shellWord).join(" ") + grep, kcat: kcat.map(shellWord).join(" ") + grep, note};
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
    return h("tr", {"data-testid": "msg-header-row"}, h("td", {"data-format": hk.format}, hk.preview),
      h("td", {"data-format": hv.format}, hv.preview));
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
          h("dt", {}, "timestamp"), h("dd", {"data-testid": "msg-detail-time"}, `${fmtTime(m.timestamp)} (${m.timestamp} ms)`),
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
      if (topic.onProduced) topic.onProduced(); /* the list behind the dialog shows it */
      if (topic.refreshCounts) topic.refreshCounts();
    } catch (x) {
      err.textContent = x.message;
      err.hidden = false;
    }
  };
  dlg.showModal();
}

/* ---- consumer groups ---- */

/* A group's lag as a cell: the number, or "unknown" when no partition has one,
   or "at least N" when some have none - never 0 for records nobody has read. */
function lagText(lag, known, unknown) {
  if (lag !== null && lag !== undefined) return fmtNum(lag);
  return known ? `\u2265 ${fmtNum(known)}` : "unknown";
}

function lagNote(unknown) {
  return `incomplete: ${plural(unknown, "partition")} without a committed offset`;
}

async function viewGroups(main) {
  setSection("groups");
  const data = await api("/api/v1/groups");
  let query = "";
  const list = listView([
    {label: "Group", id: "group", key: (g) => g.group},
    {label: "State", id: "state", key: (g) => g.state},
    {label: "Members", id: "members", cls: "num", key: (g) => g.members},
    {label: "Topics", id: "topics", key: (g) => g.topics.join(", ")},
    {label: "Lag", id: "lag", cls: "num", key: (g) => g.lag_known},
  ], (g) => h("tr", {"data-testid": "group-row", "data-group": g.group},
    h("td", {class: "name"}, h("a", {href: "#/groups/" + enc(g.group), "data-testid": "group-link"}, g.group)),
    h("td", {}, h("span", {class: "badge state-" + g.state, "data-testid": "group-state"}, g.state)),
    h("td", {class: "num", "data-testid": "group-members"}, g.members),
    h("td", {class: "name"}, g.topics.join(", ")),
    h("td", {class: "num", "data-testid": "group-lag", "data-complete": String(g.lag !== null),
      title: g.lag === null ? lagNote(g.lag_unknown) : null}, lagText(g.lag, g.lag_known, g.lag_unknown),
    g.lag === null ? h("div", {class: "muted small", "data-testid": "group-lag-note"}, lagNote(g.lag_unknown)) : null)),
  "No consumer groups yet.", {"data-testid": "groups-table"}, "groups");
  const badge = h("span", {class: "badge", "data-testid": "group-count"});
  const draw = () => {
    const q = query.toLowerCase();
    const groups = data.groups.filter((g) => g.group.toLowerCase().includes(q) ||
      g.topics.some((t) => t.toLowerCase().includes(q)));
    badge.textContent = groups.length === data.groups.length ? fmtNum(groups.length) :
      `${fmtNum(groups.length)} of ${fmtNum(data.groups.length)}`;
    list.draw(groups);
  };
  main.replaceChildren(
    viewHead("Consumer groups", badge,
      h("div", {class: "actions"}, h("button", {onclick: route, "data-testid": "refresh"}, "Refresh"))),
    h("div", {class: "panel"},
      h("div", {class: "toolbar"}, h("label", {class: "grow"}, "Search",
        h("input", {type: "search", placeholder: "Group or topic name", "data-testid": "group-search",
          oninput: (e) => { query = e.target.value; draw(); }}))),
      list.el));
  draw();
}

async function viewGroup(main, id) {
  setSection("groups");
  const g = await api("/api/v1/groups/" + enc(id));
  const members = g.members.map((m) => h("tr", {"data-testid": "member-row"},
    h("td", {class: "mono name"}, m.member_id), h("td", {}, m.client_id), h("td", {}, m.client_host),
    h("td", {class: "name"}, m.assignment.map((a) => `${a.topic} [${a.partitions.join(", ")}]`).join("; ") || "-")));
  const offsets = g.offsets.map((o) => h("tr", {"data-testid": "offset-row", "data-topic": o.topic, "data-partition": o.partition},
    h("td", {class: "name"}, h("a", {href: "#/topics/" + enc(o.topic)}, o.topic)),
    h("td", {class: "num"}, o.partition),
    h("td", {class: "num", "data-testid": "offset-committed"}, fmtNum(o.committed)),
    h("td", {class: "num", "data-testid": "offset-end"}, fmtNum(o.end_offset)),
    h("td", {class: "num", "data-testid": "offset-lag", title: o.lag_unknown_reason || null},
      o.lag === null ? "unknown" : fmtNum(o.lag),
      o.lag === null ? h("div", {class: "muted small", "data-testid": "offset-lag-reason"}, o.lag_unknown_reason || "") : null),
    h("td", {class: "mono muted name"}, o.member_id || "")));
  const total = h("div", {class: "chip"}, h("b", {"data-testid": "group-total-lag", "data-complete": String(g.lag !== null)},
    lagText(g.lag, g.lag_known, g.lag_unknown)), h("span", {}, "total lag"),
  g.lag === null ? h("span", {class: "note-line", "data-testid": "group-total-lag-note"}, lagNote(g.lag_unknown)) : null);
  main.replaceChildren(
    viewHead(h("span", {"data-testid": "group-name"}, g.group),
      h("span", {class: "badge state-" + g.state, "data-testid": "group-state"}, g.state),
      h("div", {class: "actions"}, h("button", {onclick: route, "data-testid": "refresh"}, "Refresh"))),
    h("div", {class: "chips"},
      chip("members", fmtNum(g.members.length), "group-member-count"),
      total,
      chip("generation", fmtNum(g.generation)),
      chip("protocol", g.protocol || "-"),
      chip("type", g.type || "classic", "group-type")),
    Charts.group(g.group), /* charts.js: lag over time */
    h("div", {class: "panel"}, h("h2", {}, "Offsets"),
      table([["Topic"], ["Partition", "num"], ["Committed", "num"], ["End offset", "num"], ["Lag", "num"], ["Member"]],
        offsets, "No committed offsets.", {"data-testid": "offsets-table"})),
    h("div", {class: "panel"}, h("h2", {}, "Members"),
      table([["Member id"], ["Client id"], ["Host"], ["Assignment"]], members, "No members (the group is empty).")),
    manageGroupPanel(g)); /* manage.js */
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

/* Every page: a hash pattern and its view. A page added is one line here. */
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

/* The UTC / local switch in the top bar: every time on the page follows it. */
function wireTimezone() {
  const sel = document.querySelector("[data-testid=tz-switch]");
  sel.value = app.tz;
  sel.addEventListener("change", () => {
    app.tz = sel.value === "utc" ? "utc" : "local";
    localStorage.setItem("brook.tz", app.tz);
    route();
  });
}

async function boot() {
  wireDialogs();
  wireTimezone();
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
