"use strict";
/*
 * brook console - charts. Line charts drawn as SVG by this file (no library),
 * fed by the broker's time series (GET /api/v1/series/..., docs/console.md):
 * the Metrics page, a topic's rates and disk, a group's lag.
 *
 * app.js knows three entry points, and nothing else of this file:
 *   Charts.metricsView(main)  the Metrics page (a view, as app.js's are)
 *   Charts.topic(name)        a panel of a topic's charts, to put in its page
 *   Charts.group(id)          a panel of a group's lag chart
 * Each panel polls its series once a second (only the samples after the last it
 * has, since=) and stops by itself once it is no longer in the document, so a
 * view that drops it needs no cleanup; it rests while the tab is hidden.
 *
 * A chart redraws at its box's width (a ResizeObserver), so text keeps its size
 * and nothing overflows at any width. null in a series is a value the broker does
 * not know (a group that has committed nothing): the line breaks there and the
 * chart says "unknown", never 0.
 *
 * Each chart carries what it shows for scripts and tests: data-latest (the last
 * value of its first line, or "unknown") and, per line, data-points (JSON
 * [[time ms, value], ...] of the last 60 samples).
 */

const Charts = (() => {
  const POLL_MS = 1000;
  const WINDOWS = [[300, "5 min"], [900, "15 min"], [3600, "1 hour"]];
  const COLORS = ["#0f766e", "#2563eb", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777"];
  const SVG = "http://www.w3.org/2000/svg";
  const TOP = 8; /* lines in a chart of several topics or groups */

  /* ---- small helpers (app.js's are not borrowed: this file stands alone) ---- */

  function el(tag, attrs, ...children) {
    const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  }

  async function getJSON(path) {
    const r = await fetch(path, {headers: {Accept: "application/json"}});
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new Error((body && body.error) || r.statusText);
    return body;
  }

  /* 1234567 -> "1.23M"; bytes -> "1.2 MiB"; ms -> "3.4 ms" */
  function fmtCount(v) {
    if (v === null || v === undefined) return "unknown";
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(2) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
    if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
    return v.toFixed(a >= 10 ? 1 : 2);
  }
  function fmtBytes(v) {
    if (v === null || v === undefined) return "unknown";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(Math.round(v))) + " " + u[i];
  }
  function fmtMs(v) {
    if (v === null || v === undefined) return "-";
    if (v === 0) return "0 ms";
    return (v >= 100 ? Math.round(v) : v >= 1 ? v.toFixed(1) : v.toFixed(3)) + " ms";
  }
  const FORMATS = {count: fmtCount, bytes: fmtBytes, ms: fmtMs};

  /* A "nice" step for about n ticks over [0, max]. */
  function niceStep(max, n) {
    const raw = max / n;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  function ago(ms) {
    const s = Math.round(ms / 1000);
    if (s <= 0) return "now";
    return s < 60 ? `-${s}s` : s % 60 ? `-${Math.floor(s / 60)}m${s % 60}s` : `-${s / 60}m`;
  }

  /* ---- one chart ---- */

  /*
   * chart({id, title, format, lines: [{key, label}], empty}) -> {el, draw(t, values, window)}
   * values: {key: [v or null, ...]} aligned with t (ms). window: seconds shown.
   */
  function chart(spec) {
    const latest = el("span", {class: "chart-latest", "data-testid": "chart-latest"}, "-");
    const svg = el("svg:svg", {class: "chart-svg", role: "img", "aria-label": spec.title, height: 150});
    const legend = el("div", {class: "chart-legend"});
    const note = el("div", {class: "chart-note", "data-testid": "chart-note", hidden: true});
    const tip = el("div", {class: "chart-tip", hidden: true});
    const box = el("div", {class: "chart-box"}, svg, note, tip);
    const card = el("div", {class: "chart", "data-testid": "chart", "data-chart": spec.id, "data-latest": ""},
      el("div", {class: "chart-head"}, el("h3", {}, spec.title), latest), box, legend);
    const fmt = FORMATS[spec.format || "count"];
    let last = {t: [], values: {}, window: 300, lines: spec.lines};

    function lineData(t, vals) {
      const pts = [];
      for (let i = Math.max(0, t.length - 60); i < t.length; i++) pts.push([t[i], vals ? vals[i] ?? null : null]);
      return JSON.stringify(pts);
    }

    function render() {
      const {t, values, window: win} = last;
      const lines = last.lines;
      const W = Math.max(120, box.clientWidth || 300), H = 150;
      const padL = 54, padR = 8, padT = 8, padB = 20;
      svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
      svg.setAttribute("width", W);
      svg.replaceChildren();
      const end = t.length ? t[t.length - 1] : Date.now();
      const start = end - win * 1000;
      let max = 0;
      for (const ln of lines)
        for (let i = 0; i < t.length; i++) {
          const v = (values[ln.key] || [])[i];
          if (t[i] >= start && v !== null && v !== undefined && v > max) max = v;
        }
      const step = max > 0 ? niceStep(max, 3) : 1;
      const top = max > 0 ? Math.ceil(max / step) * step : 1;
      const x = (ms) => padL + (W - padL - padR) * (ms - start) / (end - start || 1);
      const y = (v) => padT + (H - padT - padB) * (1 - v / top);
      for (let v = 0; v <= top + step / 2; v += step) {
        svg.append(el("svg:line", {class: "chart-grid", x1: padL, x2: W - padR, y1: y(v), y2: y(v)}));
        svg.append(el("svg:text", {class: "chart-axis", x: padL - 6, y: y(v) + 4, "text-anchor": "end"}, fmt(v)));
      }
      const ticks = W < 300 ? 2 : 4;
      for (let i = 0; i <= ticks; i++) {
        const ms = start + (end - start) * i / ticks;
        svg.append(el("svg:text", {class: "chart-axis", x: x(ms), y: H - 4,
          "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle"}, ago(end - ms)));
      }
      lines.forEach((ln, li) => {
        const vals = values[ln.key] || [];
        let d = "", pen = false;
        for (let i = 0; i < t.length; i++) {
          const v = vals[i];
          if (t[i] < start || v === null || v === undefined) { pen = false; continue; }
          d += `${pen ? "L" : "M"}${x(t[i]).toFixed(1)},${y(v).toFixed(1)}`;
          pen = true;
        }
        svg.append(el("svg:path", {class: "chart-line", d: d || "M0,0", stroke: COLORS[li % COLORS.length],
          "data-testid": "chart-line", "data-key": ln.key, "data-points": lineData(t, vals)}));
      });
      const first = lines.length ? values[lines[0].key] || [] : [];
      const lv = first.length ? first[first.length - 1] : undefined;
      const known = first.some((v) => v !== null && v !== undefined);
      const none = spec.none || "unknown"; /* what null means in this chart */
      card.dataset.latest = lv === null ? "unknown" : lv === undefined ? "" : String(lv);
      latest.textContent = lv === null ? none : lv === undefined ? "-" : fmt(lv) + (spec.per ? spec.per : "");
      latest.classList.toggle("unknown", lv === null && none === "unknown");
      note.hidden = known || !t.length || !spec.empty;
      note.textContent = spec.empty || "";
      legend.replaceChildren(...(lines.length > 1 ? lines.map((ln, li) => el("span", {class: "chart-key"},
        el("svg:svg", {width: 10, height: 4, "aria-hidden": "true"},
          el("svg:rect", {width: 10, height: 4, rx: 2, fill: COLORS[li % COLORS.length]})), ln.label)) : []));
      svg.onmousemove = (ev) => hover(ev, x, start, end, padL, W - padR);
      svg.onmouseleave = () => { tip.hidden = true; };
    }

    /* The values at the sample nearest the pointer, in a small box beside it. */
    function hover(ev, x, start, end, left, right) {
      const r = svg.getBoundingClientRect();
      const px = ev.clientX - r.left;
      if (px < left || px > right || !last.t.length) { tip.hidden = true; return; }
      const ms = start + (end - start) * (px - left) / (right - left);
      let best = 0;
      for (let i = 0; i < last.t.length; i++)
        if (Math.abs(last.t[i] - ms) < Math.abs(last.t[best] - ms)) best = i;
      tip.replaceChildren(el("b", {}, ago(end - last.t[best])),
        ...last.lines.map((ln) => el("div", {}, `${ln.label}: ${fmt((last.values[ln.key] || [])[best] ?? null)}`)));
      tip.style.left = Math.min(px + 12, r.width - 160) + "px";
      tip.hidden = false;
    }

    new ResizeObserver(() => render()).observe(box);
    return {
      el: card,
      draw(t, values, win, lines) {
        last = {t, values, window: win || last.window, lines: lines || last.lines};
        render();
      },
    };
  }

  /* ---- series fetched live ---- */

  /*
   * A feed: polls url (+ since= the last sample's time) every second while
   * alive(), keeps the last hour, and calls onData(feed) after each answer.
   * feed.t is the times; feed.data the answer's shape with every array of values
   * aligned with feed.t (null where a series had no sample), other fields as the
   * last answer had them.
   */
  function feed(url, alive, onData, onError) {
    const f = {t: [], data: {}, error: null};
    const cols = new Map(); /* JSON of the path of keys -> values aligned with f.t */
    let timer = null;
    function walk(o, path, out) {
      for (const [k, v] of Object.entries(o)) {
        if (Array.isArray(v)) out.set(JSON.stringify(path.concat(k)), v);
        else if (v && typeof v === "object") walk(v, path.concat(k), out);
      }
      return out;
    }
    function absorb(d) {
      const n = f.t.length, m = d.t.length;
      const fresh = walk(d, [], new Map());
      fresh.delete(JSON.stringify(["t"]));
      for (const [k, v] of cols) cols.set(k, v.concat(fresh.has(k) ? fresh.get(k) : Array(m).fill(null)));
      for (const [k, v] of fresh) if (!cols.has(k)) cols.set(k, Array(n).fill(null).concat(v));
      f.t = f.t.concat(d.t);
      const cut = Math.max(0, f.t.length - 3600);
      f.t = f.t.slice(cut);
      const data = JSON.parse(JSON.stringify(d, (k, v) => (Array.isArray(v) ? undefined : v)));
      for (const [k, v] of cols) {
        const values = v.slice(cut);
        cols.set(k, values);
        const path = JSON.parse(k);
        let o = data;
        for (const p of path.slice(0, -1)) o = o[p] = o[p] && typeof o[p] === "object" ? o[p] : {};
        o[path[path.length - 1]] = values;
      }
      f.data = data;
    }
    async function poll() {
      timer = null;
      if (!alive()) return;
      if (!document.hidden) {
        try {
          const sep = url.includes("?") ? "&" : "?";
          absorb(await getJSON(url + sep + (f.t.length ? "since=" + f.t[f.t.length - 1] : "last=900")));
          f.error = null;
          onData(f);
        } catch (e) {
          f.error = e;
          if (onError) onError(e);
        }
      }
      if (alive()) timer = setTimeout(poll, POLL_MS);
    }
    f.stop = () => { if (timer) clearTimeout(timer); timer = null; };
    poll();
    return f;
  }

  /* Whether a panel still wants data: while it is in the document, and until it
     gets there (5 s at most) when it is built before being put in the page. */
  function lifetime(root) {
    const born = Date.now();
    let placed = false;
    return () => {
      if (root.isConnected) placed = true;
      return root.isConnected || (!placed && Date.now() - born < 5000);
    };
  }

  function windowSelect(onChange) {
    return el("label", {class: "chart-window"}, "Window ",
      el("select", {"data-testid": "chart-window", onchange: (e) => onChange(Number(e.target.value))},
        WINDOWS.map(([s, label]) => el("option", {value: s}, label))));
  }

  function panel(title, testid, ...children) {
    return el("div", {class: "panel charts-panel", "data-testid": testid},
      el("div", {class: "charts-head"}, el("h2", {}, title), ...children.slice(0, 1)),
      ...children.slice(1));
  }

  /* ---- a topic ---- */

  function topic(name) {
    let win = 300;
    const cRec = chart({id: "topic-produce-records", title: "Records in / out", per: "/s",
      lines: [{key: "produce_records", label: "in"}, {key: "consume_records", label: "out (fetched)"}]});
    const cBytes = chart({id: "topic-bytes", title: "Bytes in / out", format: "bytes", per: "/s",
      lines: [{key: "produce_bytes", label: "in"}, {key: "consume_bytes", label: "out (fetched)"}]});
    const cDisk = chart({id: "topic-disk", title: "On disk", format: "bytes",
      lines: [{key: "disk_bytes", label: "bytes"}]});
    const status = el("p", {class: "muted chart-status", hidden: true});
    const grid = el("div", {class: "chart-grid3"}, cRec.el, cBytes.el, cDisk.el);
    const root = panel("Throughput", "topic-charts", windowSelect((s) => { win = s; draw(); }), status, grid);
    const draw = () => {
      const v = f.data.series || {};
      for (const c of [cRec, cBytes, cDisk]) c.draw(f.t, v, win);
      status.hidden = f.data.tracked !== false;
      status.textContent = f.data.reason || "";
    };
    const f = feed("/api/v1/series/topics/" + encodeURIComponent(name), lifetime(root),
      draw, (e) => { status.hidden = false; status.textContent = "Charts unavailable: " + e.message; });
    return root;
  }

  /* ---- a group ---- */

  function group(id) {
    let win = 300;
    const c = chart({id: "group-lag", title: "Lag (records)", lines: [{key: "lag", label: "lag"}],
      empty: "Lag unknown: the group has committed no offset yet, so how far behind it is cannot be told."});
    const status = el("p", {class: "muted chart-status", hidden: true});
    const root = panel("Lag over time", "group-charts", windowSelect((s) => { win = s; draw(); }), status, c.el);
    const draw = () => {
      c.draw(f.t, f.data.series || {}, win);
      status.hidden = f.data.tracked !== false;
      status.textContent = f.data.reason || "";
    };
    const f = feed("/api/v1/series/groups/" + encodeURIComponent(id), lifetime(root),
      draw, (e) => { status.hidden = false; status.textContent = "Charts unavailable: " + e.message; });
    return root;
  }

  /* ---- the Metrics page ---- */

  /* The n keys of obj whose last value of field is largest. */
  function topKeys(obj, field, n) {
    const lastOf = (a) => { for (let i = a.length - 1; i >= 0; i--) if (a[i] !== null) return a[i]; return -1; };
    return Object.keys(obj).sort((a, b) => lastOf(obj[b][field] || []) - lastOf(obj[a][field] || []) ||
      (a < b ? -1 : 1)).slice(0, n);
  }

  /* {key: values} for a chart of one field of several entities (lines keyed by name). */
  function fieldOf(obj, keys, field) {
    const out = {};
    for (const k of keys) out[k] = obj[k][field] || [];
    return out;
  }

  function apiTable(apis, onPick, picked) {
    const lastOf = (a) => (a && a.length ? a[a.length - 1] : null);
    const rows = Object.keys(apis).sort((a, b) => (lastOf(apis[b].requests) || 0) - (lastOf(apis[a].requests) || 0) ||
      (a < b ? -1 : 1)).map((name) => el("tr", {class: name === picked ? "picked" : null, "data-testid": "api-row",
      "data-api": name, onclick: () => onPick(name)},
      el("td", {}, name), el("td", {class: "num"}, fmtCount(lastOf(apis[name].requests))),
      el("td", {class: "num"}, fmtMs(lastOf(apis[name].p50_ms))), el("td", {class: "num"}, fmtMs(lastOf(apis[name].p99_ms)))));
    return el("div", {class: "chart-table"}, el("table", {"data-testid": "api-table"},
      el("thead", {}, el("tr", {}, el("th", {}, "API"), el("th", {class: "num"}, "req/s"),
        el("th", {class: "num"}, "p50"), el("th", {class: "num"}, "p99"))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", {colspan: 4, class: "muted"}, "No requests yet.")))));
  }

  function metricsView(main) {
    if (typeof setSection === "function") setSection("metrics");
    let win = 300;
    let pickedApi = null;
    const cReq = chart({id: "broker-requests", title: "Requests", per: "/s", lines: [{key: "requests", label: "req/s"}]});
    const cRec = chart({id: "broker-records", title: "Records in / out", per: "/s",
      lines: [{key: "produce_records", label: "in"}, {key: "consume_records", label: "out"}]});
    const cBytes = chart({id: "broker-bytes", title: "Bytes in / out", format: "bytes", per: "/s",
      lines: [{key: "produce_bytes", label: "in"}, {key: "consume_bytes", label: "out"}]});
    const cConn = chart({id: "broker-connections", title: "Connections", lines: [{key: "connections", label: "open"}]});
    const cLat = chart({id: "api-latency", title: "Latency", format: "ms", none: "no requests",
      lines: [{key: "p50_ms", label: "p50"}, {key: "p99_ms", label: "p99"}]});
    const latTitle = el("span", {class: "muted", "data-testid": "latency-api"});
    const apiHolder = el("div");
    const cTopicIn = chart({id: "topics-produce", title: "Records in by topic", per: "/s", lines: []});
    const cTopicDisk = chart({id: "topics-disk", title: "Disk by topic", format: "bytes", lines: []});
    const cLag = chart({id: "groups-lag", title: "Lag by group (records)", lines: [],
      empty: "No group has committed an offset yet: lag unknown."});
    const unknownGroups = el("p", {class: "muted", "data-testid": "groups-unknown", hidden: true});
    const status = el("p", {class: "muted chart-status", hidden: true});
    const root = el("div", {"data-testid": "metrics-view"},
      el("div", {class: "view-head"}, el("h1", {}, "Metrics"),
        el("div", {class: "actions"}, windowSelect((s) => { win = s; drawAll(); }),
          el("a", {href: "/metrics", target: "_blank", rel: "noopener", "data-testid": "prometheus-link"}, "Prometheus text"))),
      status,
      panel("Broker", "broker-charts", null, el("div", {class: "chart-grid2"}, cReq.el, cRec.el, cBytes.el, cConn.el)),
      panel("Requests by API", "api-charts", latTitle, el("div", {class: "chart-grid2"}, apiHolder, cLat.el)),
      panel("Topics", "topic-charts-all", null, el("div", {class: "chart-grid2"}, cTopicIn.el, cTopicDisk.el)),
      panel("Consumer groups", "group-charts-all", null, cLag.el, unknownGroups));
    main.replaceChildren(root);
    const alive = () => root.isConnected;
    const fail = (e) => { status.hidden = false; status.textContent = "Some series are unavailable: " + e.message; };

    function drawBroker() {
      const s = fb.data.series || {};
      for (const c of [cReq, cRec, cBytes, cConn]) c.draw(fb.t, s, win);
      const apis = fb.data.apis || {};
      if (!pickedApi || !apis[pickedApi]) pickedApi = apis.Produce ? "Produce" : Object.keys(apis)[0] || null;
      latTitle.textContent = pickedApi ? pickedApi + " (click an API to chart it)" : "";
      cLat.el.dataset.api = pickedApi || "";
      cLat.draw(fb.t, pickedApi ? apis[pickedApi] : {}, win);
      apiHolder.replaceChildren(apiTable(apis, (n) => { pickedApi = n; drawBroker(); }, pickedApi));
    }
    function drawTopics() {
      const topics = ft.data.topics || {};
      const busy = topKeys(topics, "produce_records", TOP), big = topKeys(topics, "disk_bytes", TOP);
      cTopicIn.draw(ft.t, fieldOf(topics, busy, "produce_records"), win, busy.map((k) => ({key: k, label: k})));
      cTopicDisk.draw(ft.t, fieldOf(topics, big, "disk_bytes"), win, big.map((k) => ({key: k, label: k})));
    }
    function drawGroups() {
      const groups = fg.data.groups || {};
      const known = Object.keys(groups).filter((g) => { const a = groups[g].lag || []; return a.length && a[a.length - 1] !== null; });
      const unknown = Object.keys(groups).filter((g) => !known.includes(g));
      const keys = topKeys(Object.fromEntries(known.map((g) => [g, groups[g]])), "lag", TOP);
      cLag.draw(fg.t, fieldOf(groups, keys, "lag"), win, keys.map((k) => ({key: k, label: k})));
      unknownGroups.hidden = !unknown.length;
      unknownGroups.textContent = unknown.length ? `Lag unknown (no committed offset): ${unknown.slice(0, 20).join(", ")}` +
        (unknown.length > 20 ? ` and ${unknown.length - 20} more` : "") : "";
    }
    function drawAll() { drawBroker(); drawTopics(); drawGroups(); }
    const fb = feed("/api/v1/series/broker", alive, drawBroker, fail);
    const ft = feed("/api/v1/series/topics", alive, drawTopics, fail);
    const fg = feed("/api/v1/series/groups", alive, drawGroups, fail);
    return () => { fb.stop(); ft.stop(); fg.stop(); };
  }

  return {metricsView, topic, group, chart};
})();
