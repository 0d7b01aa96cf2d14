"use strict";
/*
 * console.test.js - the web console in a real browser: playwright-core driving
 * Debian's chromium (headless) against a brookd that tests/browser/console.sh
 * started and seeded. Prints one "ok - ..." / "not ok - ..." line per check, and
 * "# ..." lines with measurements; exits 1 if anything failed.
 *
 *   MODE=main      the browsing, produce, live tail and group checks, the
 *                  layout of every page at 1 280 and 390 px, and screenshots of
 *                  them (SHOTS=directory; PAGES below is the one list of pages)
 *   MODE=readonly  against a broker with console.read.only=true
 *   MODE=login     against a broker with users and ACLs: the login form, the
 *                  cookie's flags, CSRF, a refused delete, alice's writes, logout
 *   MODE=fuse      live tail of a line appended through the FUSE mount
 *                  (FUSE_APPEND is the shell command that appends it)
 *
 * Environment from console.sh: CONSOLE_URL, BROKER, TS_B (the first timestamp of
 * the second batch of "events"), GROUP_COMMITTED (JSON: partition -> the offset
 * the group "lagtest" committed on "orders", read with kafka-python). A member of
 * group "idle" reads "orders" and never commits. PATH has brook first. The
 * browser's zone is Asia/Kolkata (+05:30), so local and UTC times differ.
 * Elements are found by data-testid only.
 */
const {execFileSync, execSync} = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const {BASE, test, failed, expect, expectEq, withBrowser, open, byId} = require("./lib.js");

const env = process.env;
const MODE = env.MODE || "main";
const ZONE = "Asia/Kolkata";

/* Every page of the console: [name, hash, what to do once it is drawn]. Each is
 * checked for overflow at both widths and photographed for docs/console/; a page
 * added to the console is one line here. */
const WIDTHS = [1280, 390];
const PAGES = [
  ["topics", "#/topics"],
  ["topic-messages", "#/topics/orders", (page) => expandRecord(page, "last")],
  ["topic-partitions", "#/topics/orders/partitions"],
  ["topic-config", "#/topics/orders/config"],
  ["binary-record", "#/topics/bin", (page) => expandRecord(page, "first")],
  ["groups", "#/groups"],
  ["group-unknown-lag", "#/groups/idle"],
  ["group", "#/groups/lagtest"],
  ["broker", "#/broker"],
  ["metrics", "#/metrics", (page) => page.waitForSelector("[data-testid=chart-line]")],
];

async function expandRecord(page, which) {
  await page.waitForSelector("[data-testid=msg-row]");
  await page.getByTestId("msg-row")[which || "last"]().click();
  await page.getByTestId("msg-detail").waitFor();
}

function py(code, ...args) {
  return execFileSync(env.PY || "python3", ["-c", code, env.BROKER, ...args], {timeout: 60000}).toString();
}

function brookRun(cmd) {
  return execSync(cmd, {timeout: 30000, shell: "/bin/sh"}).toString();
}

function kcat(args, input) {
  return execFileSync("kcat", ["-b", env.BROKER, ...args], {input, timeout: 30000}).toString();
}

/* The message rows as {partition, offset, key, value, format}. */
async function rows(page) {
  return page.$$eval("[data-testid=msg-row]", (trs) => trs.map((tr) => ({
    partition: Number(tr.dataset.partition),
    offset: Number(tr.dataset.offset),
    key: tr.querySelector("[data-testid=msg-key]").textContent,
    value: tr.querySelector("[data-testid=msg-value]").textContent,
    format: tr.querySelector("[data-testid=msg-value]").dataset.format,
  })));
}

/* Search with the message browser's controls, and wait for the answer. */
async function search(page, opts) {
  await byId(page, "seek-partition").selectOption(String(opts.partition ?? "all"));
  await byId(page, "seek-mode").selectOption(opts.seek || "newest");
  if (opts.offset !== undefined) await byId(page, "seek-offset").fill(String(opts.offset));
  if (opts.time !== undefined) await byId(page, "seek-time").fill(opts.time);
  await byId(page, "seek-filter").fill(opts.filter || "");
  const answered = page.waitForResponse((r) => r.url().includes("/messages?"));
  await byId(page, "msg-search").click();
  await answered;
  await page.waitForFunction(() => !document.querySelector("[data-testid=msg-status]").textContent.startsWith("Searching"));
  return rows(page);
}

async function topicTable(page) {
  await test("the topic table shows partition and message counts", async () => {
    await open(page, "#/topics");
    const row = (name) => page.locator(`[data-testid=topic-row][data-topic="${name}"]`);
    expectEq(await row("orders").getByTestId("topic-partitions").textContent(), "3", "orders partitions");
    expectEq(await row("orders").getByTestId("topic-messages").textContent(), "10", "orders messages");
    expectEq(await row("events").getByTestId("topic-partitions").textContent(), "1", "events partitions");
    expectEq(await row("events").getByTestId("topic-messages").textContent(), "9", "events messages");
    expectEq(await page.locator("[data-topic=__consumer_offsets]").count(), 0, "internal topics hidden");
  });
}

async function browsing(page) {
  await test("seek by offset lands on that offset of the chosen partition", async () => {
    await open(page, "#/topics/orders");
    const r = await search(page, {partition: 0, seek: "offset", offset: 2});
    expectEq(r.map((x) => [x.partition, x.offset]), [[0, 2], [0, 3], [0, 4]], "rows");
    expectEq(r[0].key, "order-0-3", "first key");
  });
  await test("seek by timestamp lands on the first record of the later batch", async () => {
    await open(page, "#/topics/events");
    const time = await page.evaluate((ms) => fmtTime(ms), Number(env.TS_B)); // eslint-disable-line no-undef
    const r = await search(page, {seek: "timestamp", time});
    expectEq(r.map((x) => x.value), ["event-b-1", "event-b-2", "event-b-3", "the NeEdLe record"], "values");
    expectEq(r[0].offset, 5, "first offset");
  });
  await test("a filter returns exactly the matching row (case-insensitive)", async () => {
    await open(page, "#/topics/events");
    const r = await search(page, {seek: "oldest", filter: "needle"});
    expectEq(r.map((x) => [x.offset, x.value]), [[8, "the NeEdLe record"]], "rows");
  });
  await test("binary keys, values and headers all render as hex with an ASCII column", async () => {
    await open(page, "#/topics/bin");
    await search(page, {seek: "oldest"});
    const [r, k] = await rows(page);
    expectEq(r.format, "hex", "format of the binary value's preview");
    expectEq(r.value, "00 01 02 ff fe 20 61 6e 64 20 74 68 65 6e 20 73 ...  |..... and then s|", "value preview");
    const keyCell = byId(page, "msg-key").nth(1);
    expectEq([await keyCell.getAttribute("data-format"), k.key], ["hex", "01 02 6b 65 79  |..key|"], "key preview");
    await byId(page, "msg-row").first().click();
    const pre = byId(page, "msg-value-pretty");
    expectEq(await pre.getAttribute("data-format"), "hex", "format of the detail");
    expect((await pre.textContent()).startsWith("00000000  00 01 02 ff fe 20 61 6e  64 20 74 68 65 6e 20 73  |..... and then s|"), "hex dump");
    await byId(page, "msg-row").first().click();
    await byId(page, "msg-row").nth(1).click();
    expect((await byId(page, "msg-key-pretty").textContent()).startsWith("00000000  01 02 6b 65 79"), "key dump");
    const hdr = byId(page, "msg-header-row").first().locator("td").nth(1);
    expectEq([await hdr.getAttribute("data-format"), await hdr.textContent()], ["hex", "00 ff 68 64 72  |..hdr|"], "header");
  });
  await test("a JSON value expands pretty-printed with its headers and a copy button", async () => {
    await open(page, "#/topics/orders");
    await page.waitForSelector("[data-testid=msg-row]");
    await byId(page, "msg-row").first().click();
    const pre = byId(page, "msg-value-pretty");
    expectEq(await pre.getAttribute("data-format"), "json", "format");
    expect((await pre.textContent()).includes('\n  "customer": {\n'), "indented JSON");
    expect((await byId(page, "msg-headers").textContent()).includes("source"), "headers table");
    await byId(page, "msg-copy").click();
    await page.waitForFunction(() => document.querySelector("[data-testid=msg-copy]").textContent === "Copied");
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expectEq(JSON.parse(copied).customer.tier, "gold", "clipboard");
  });
  await test("download as JSON lines saves the shown records", async () => {
    await open(page, "#/topics/orders");
    await page.waitForSelector("[data-testid=msg-row]");
    const shown = (await rows(page)).length;
    const [download] = await Promise.all([page.waitForEvent("download"), byId(page, "download-jsonl").click()]);
    const file = path.join(os.tmpdir(), `brook-dl-${process.pid}.jsonl`);
    await download.saveAs(file);
    const lines = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    fs.unlinkSync(file);
    expectEq(download.suggestedFilename(), "orders-messages.jsonl", "file name");
    expectEq(lines.length, shown, "lines");
    expect(lines.every((l) => l.topic === "orders" && typeof l.offset === "number"), "records");
  });
}

/* Open the live tail on a topic and wait until it is connected. */
async function startLive(page, topic) {
  await open(page, `#/topics/${topic}`);
  await page.waitForSelector("[data-testid=msg-status] >> text=/messages/");
  await byId(page, "live-toggle").click();
  await page.waitForFunction(() => {
    const s = document.querySelector("[data-testid=live-status]");
    return s && s.textContent.includes("connected");
  });
}

async function waitForRow(page, value, ms) {
  const t0 = Date.now();
  await page.locator(`[data-testid=msg-value]:text-is("${value}")`).first().waitFor({timeout: ms});
  return Date.now() - t0;
}

async function liveTail(page) {
  await test("a record produced with kcat appears in the live tail within 2 s", async () => {
    await startLive(page, "events");
    const value = `live-${process.pid}`;
    kcat(["-P", "-t", "events", "-p", "0"], value + "\n");
    const ms = await waitForRow(page, value, 2000);
    console.log(`# live tail in the browser: the kcat record showed ${ms} ms after kcat returned`);
    expectEq(await byId(page, "live-toggle").getAttribute("aria-pressed"), "true", "toggle state");
    await byId(page, "live-toggle").click();
    expectEq(await byId(page, "live-toggle").getAttribute("aria-pressed"), "false", "toggled off");
  });
}

async function produce(page) {
  await test("the produce dialog returns an offset that kcat then reads", async () => {
    await open(page, "#/topics/orders");
    await byId(page, "produce-button").click();
    await byId(page, "produce-partition").selectOption("2");
    await byId(page, "produce-key").fill("from-the-browser");
    await byId(page, "produce-value").fill('{"made":"in a dialog"}');
    await byId(page, "produce-headers").fill("origin=console");
    await byId(page, "produce-submit").click();
    const result = byId(page, "produce-result");
    await result.waitFor({state: "visible"});
    const part = await result.getAttribute("data-partition");
    const offset = await result.getAttribute("data-offset");
    expectEq(part, "2", "partition");
    const got = kcat(["-C", "-t", "orders", "-p", part, "-o", offset, "-c", "1", "-e", "-q", "-f", "%k|%s|%h"]);
    expectEq(got, 'from-the-browser|{"made":"in a dialog"}|origin=console', "what kcat reads");
    await byId(page, "produce-close").click();
    expect(!(await byId(page, "produce-dialog").isVisible()), "the dialog closed");
    expectEq(endOffset("orders", part), Number(offset) + 1, "records produced (exactly one)");
  });
}

/* The end offset of a partition now, as kcat sees it. */
function endOffset(topic, partition) {
  const out = kcat(["-Q", "-t", `${topic}:${partition}:-1`]);
  return Number(/offset (\d+)/.exec(out)[1]);
}

async function groupLag(page) {
  await test("group lag equals end offset minus what the consumer group committed", async () => {
    const committed = JSON.parse(env.GROUP_COMMITTED); /* partition -> offset, from kafka-python */
    const truth = Object.entries(committed).map(([p, c]) => ({partition: p, committed: c, end: endOffset("orders", p)}));
    const want = truth.reduce((n, t) => n + t.end - t.committed, 0);
    await open(page, "#/groups");
    const lagCell = page.locator("[data-testid=group-row][data-group=lagtest] [data-testid=group-lag]");
    expectEq(await lagCell.textContent(), String(want), "lag in the group list");
    await open(page, "#/groups/lagtest");
    const shown = await page.$$eval("[data-testid=offset-row]", (trs) => trs.map((tr) => ({
      partition: tr.dataset.partition,
      committed: Number(tr.querySelector("[data-testid=offset-committed]").textContent),
      end: Number(tr.querySelector("[data-testid=offset-end]").textContent),
      lag: Number(tr.querySelector("[data-testid=offset-lag]").textContent),
    })));
    expectEq(shown.map((s) => s.partition), truth.map((t) => t.partition), "partitions with a commit");
    for (const t of truth) {
      const s = shown.find((x) => x.partition === t.partition);
      expectEq([s.committed, s.end, s.lag], [t.committed, t.end, t.end - t.committed], `partition ${t.partition}`);
    }
    expectEq(await byId(page, "group-total-lag").textContent(), String(want), "total lag");
  });
}

async function unknownLag(page) {
  await test("a running group that committed nothing shows lag unknown with the reason, and an incomplete total, never 0", async () => {
    /* the truth: kafka-python finds no committed offset for any partition of orders */
    const committed = py(`import sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=sys.argv[1], group_id='idle', enable_auto_commit=False)
print([c.committed(TopicPartition('orders', p)) for p in range(3)])
c.close()`).trim();
    expectEq(committed, "[None, None, None]", "committed offsets (kafka-python)");
    const api = await page.evaluate(async () => (await (await fetch("/api/v1/groups")).json()).groups
      .find((g) => g.group === "idle"));
    expectEq([api.lag, api.lag_known, api.lag_unknown], [null, 0, 3], "API total");
    await open(page, "#/groups");
    const cell = page.locator("[data-testid=group-row][data-group=idle] [data-testid=group-lag]");
    expect((await cell.textContent()).startsWith("unknown"), `list cell ${await cell.textContent()}`);
    expectEq(await cell.getAttribute("data-complete"), "false", "list cell completeness");
    expect((await cell.getByTestId("group-lag-note").textContent()).includes("3 partitions without a committed offset"), "list note");
    await open(page, "#/groups/idle");
    const lags = await page.$$eval("[data-testid=offset-row]", (trs) => trs.map((tr) => [
      tr.querySelector("[data-testid=offset-committed]").textContent,
      tr.querySelector("[data-testid=offset-lag]").firstChild.textContent,
      tr.querySelector("[data-testid=offset-lag-reason]").textContent]));
    expectEq(lags.length, 3, "partitions");
    for (const [c, l, why] of lags) {
      expectEq([c, l], ["-", "unknown"], "committed and lag");
      expect(why.includes("no committed offset"), `reason: ${why}`);
    }
    expectEq(await byId(page, "group-total-lag").textContent(), "unknown", "total");
    expect((await byId(page, "group-total-lag-note").textContent()).startsWith("incomplete"), "total note");
  });
}

/* Elements wider than their box on the current page: every element whose content
   overflows it sideways, except form controls, text cut with an ellipsis on
   purpose, and the boxes that scroll on their own (.scroll-box, pre.value) with
   what is inside them. */
function overflowing(page) {
  return page.evaluate(() => {
    const bad = [];
    if (document.documentElement.scrollWidth > window.innerWidth)
      bad.push(`the document (${document.documentElement.scrollWidth} > ${window.innerWidth})`);
    for (const el of document.querySelectorAll("body *")) {
      if (el.closest(".scroll-box, pre.value, dialog:not([open])")) continue;
      if (el.matches("input, select, textarea, button, option") || !el.clientWidth) continue;
      const cs = getComputedStyle(el);
      if (cs.textOverflow === "ellipsis" || cs.display === "none") continue;
      if (el.scrollWidth > el.clientWidth + 1) {
        const id = el.dataset.testid ? `[${el.dataset.testid}]` : el.className ? `.${el.className}` : "";
        bad.push(`${el.tagName.toLowerCase()}${id} ${el.scrollWidth} > ${el.clientWidth}`);
      }
    }
    return bad;
  });
}

/* A screenshot is taken only where docs/console/ lacks it, or for all with
   BROOK_UPDATE_SCREENSHOT=1 - console.sh copies what it finds in SHOTS. */
function shotWanted(name) {
  return env.BROOK_UPDATE_SCREENSHOT === "1" || !fs.existsSync(path.join(env.DOCS_SHOTS, name));
}

async function layout(page) {
  fs.mkdirSync(env.SHOTS, {recursive: true});
  let shots = 0;
  for (const width of WIDTHS) {
    await test(`at ${width} px no card, table or panel is wider than its container, on every page`, async () => {
      await page.setViewportSize({width, height: 860});
      const found = [];
      for (const [name, hash, then] of PAGES) {
        await open(page, hash);
        if (then) await then(page);
        for (const b of await overflowing(page)) found.push(`${name}: ${b}`);
        const file = `${name}-${width}.png`;
        if (shotWanted(file)) {
          await page.screenshot({path: path.join(env.SHOTS, file), fullPage: true});
          shots++;
        }
      }
      expectEq(found.slice(0, 5), [], "overflowing elements");
    });
  }
  console.log(`# screenshots taken for docs/console/: ${shots} of ${PAGES.length * WIDTHS.length}`);
  await page.setViewportSize({width: 1280, height: 860});
  await test("at 1280 px the message table fits its panel, and an expanded record's key, headers and time are not cut off", async () => {
    await open(page, "#/topics/orders");
    await expandRecord(page);
    const r = await page.evaluate(() => {
      const box = document.querySelector("[data-testid=msg-table]").parentElement;
      const right = box.getBoundingClientRect().right;
      const parts = ["msg-key-pretty", "msg-headers", "msg-detail-time"].map((id) => {
        const el = document.querySelector(`[data-testid=${id}]`);
        return [id, el.getBoundingClientRect().right <= right + 0.5, el.scrollWidth <= el.clientWidth + 1];
      });
      return {fits: box.scrollWidth <= box.clientWidth, parts};
    });
    expect(r.fits, "the message table scrolls sideways at 1280 px");
    for (const [id, inside, whole] of r.parts) expect(inside && whole, `${id} is cut off`);
  });
  await test("the page scrolls as a document: main has no scroller of its own", async () => {
    await page.setViewportSize({width: 1280, height: 400});
    await open(page, "#/broker");
    const r = await page.evaluate(() => ({
      overflow: getComputedStyle(document.getElementById("main")).overflowY,
      doc: document.scrollingElement.scrollHeight,
      view: window.innerHeight,
    }));
    await page.setViewportSize({width: 1280, height: 860});
    expectEq(r.overflow, "visible", "main's overflow");
    expect(r.doc > r.view, `the document is taller than the window (${r.doc} vs ${r.view})`);
  });
}

/* Choose the zone in the top bar, then load the page afresh. */
async function setZone(page, tz) {
  await byId(page, "tz-switch").selectOption(tz);
  await page.waitForFunction((z) => localStorage.getItem("brook.tz") === z, tz);
  await open(page, await page.evaluate(() => location.hash));
}

async function times(page) {
  await test("one switch shows every time in UTC or local, in a syntax brook consume -o @ reads back", async () => {
    await open(page, "#/topics/events");
    await search(page, {seek: "oldest"});
    const stamp = Number(await byId(page, "msg-time").first().getAttribute("title"));
    for (const [tz, suffix] of [["utc", "Z"], ["local", "+05:30"]]) {
      await setZone(page, tz);
      await search(page, {seek: "oldest"});
      const shown = await byId(page, "msg-time").first().textContent();
      expect(shown.endsWith(suffix), `${tz}: ${shown}`);
      expectEq(Date.parse(shown), stamp, `${tz}: the instant shown`);
      await byId(page, "msg-row").first().click();
      expect((await byId(page, "msg-detail-time").textContent()).startsWith(shown), `${tz}: the detail pane`);
      expect((await page.locator("[data-testid=sort-timestamp]").textContent()).includes(tz === "utc" ? "UTC" : "local"), "the column says which zone");
    }
    /* a local time as the page writes it selects the later batch, in the page and in brook */
    const time = await page.evaluate((ms) => fmtTime(ms), Number(env.TS_B)); // eslint-disable-line no-undef
    expect(time.endsWith("+05:30"), time);
    const r = await search(page, {seek: "timestamp", time});
    const cli = brookRun(`brook -b ${env.BROKER} consume events -o @${time} -e`).trim().split("\n");
    expectEq(r.map((x) => x.value).slice(0, cli.length), cli, "brook consume -o @local-time");
    expectEq(cli[0], "event-b-1", "the first record brook reads");
    await setZone(page, "utc");
  });
}

/* Sum of end offsets (all from 0 here: nothing removed) as kcat sees them. */
function messagesOf(topic, partitions) {
  let n = 0;
  for (let p = 0; p < partitions; p++) n += endOffset(topic, p);
  return n;
}

async function staleCounts(page) {
  await test("after producing from the dialog the list and the count refresh without a reload", async () => {
    await open(page, "#/topics/orders");
    await page.waitForSelector("[data-testid=msg-row]");
    await byId(page, "produce-button").click();
    await byId(page, "produce-partition").selectOption("1");
    await byId(page, "produce-value").fill("fresh-from-dialog");
    await byId(page, "produce-submit").click();
    await byId(page, "produce-result").waitFor({state: "visible"});
    await byId(page, "produce-close").click();
    await page.locator('[data-testid=msg-value]:text-is("fresh-from-dialog")').waitFor({timeout: 5000});
    const truth = fmtCount(messagesOf("orders", 3));
    await page.waitForFunction((n) => document.querySelector("[data-testid=topic-message-count]").textContent === n, truth);
  });
  await test("the message count follows a live tail, and Load more and Older hide while tailing", async () => {
    await open(page, "#/topics/many");
    await search(page, {seek: "oldest"});
    expect(await byId(page, "msg-more").isVisible(), "Load more before tailing");
    await byId(page, "live-toggle").click();
    await page.waitForFunction(() => document.querySelector("[data-testid=live-status]").textContent.includes("connected"));
    expect(!(await byId(page, "msg-more").isVisible()) && !(await byId(page, "msg-older").isVisible()), "paging hidden while tailing");
    kcat(["-P", "-t", "many", "-p", "0"], "tail-1\ntail-2\ntail-3\n");
    await waitForRow(page, "tail-3", 3000);
    const truth = fmtCount(messagesOf("many", 1));
    await page.waitForFunction((n) => document.querySelector("[data-testid=topic-message-count]").textContent === n, truth);
    expectEq(await byId(page, "msg-count").textContent(), "53 messages shown", "rows counted");
    expect(!(await byId(page, "msg-more").isVisible()), "Load more still hidden");
    await byId(page, "live-toggle").click();
  });
  await test("the Topics badge counts the rows a search leaves, and counts of one are singular", async () => {
    await open(page, "#/topics");
    const all = await page.locator("[data-testid=topic-row]").count();
    await byId(page, "topic-search").fill("orde");
    expectEq(await page.locator("[data-testid=topic-row]").count(), 1, "rows");
    expectEq(await byId(page, "topic-count").textContent(), `1 of ${all}`, "badge");
    await open(page, "#/topics/events");
    await search(page, {seek: "oldest", filter: "needle"});
    expectEq(await byId(page, "msg-count").textContent(), "1 message shown", "one row");
    await open(page, "#/topics/txtopic");
    await page.waitForSelector("[data-testid=msg-row]");
    expectEq(await page.locator(".chip", {has: byId(page, "topic-message-count")}).locator("span").textContent(),
      Number(await byId(page, "topic-message-count").textContent()) === 1 ? "message" : "messages", "chip label");
  });
}

function fmtCount(n) {
  return n.toLocaleString("en-US");
}

async function paging(page) {
  await test("Newest pages back with Older as far as the log goes, matching kcat -o -N", async () => {
    await open(page, "#/topics/many");
    await byId(page, "seek-limit").selectOption("20");
    const first = await search(page, {seek: "newest"});
    const end = endOffset("many", 0);
    expectEq(first.map((r) => r.offset), Array.from({length: 20}, (_, i) => end - 1 - i), "newest page");
    await byId(page, "msg-older").click();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=msg-row]").length === 40);
    const both = await rows(page);
    const truth = kcat(["-C", "-t", "many", "-p", "0", "-o", "-40", "-e", "-q", "-f", "%o %s\\n"]).trim().split("\n").reverse();
    expectEq(both.map((r) => `${r.offset} ${r.value}`), truth, "two pages back");
    for (let i = 0; i < 10 && await byId(page, "msg-older").isVisible(); i++) {
      const n = (await rows(page)).length;
      await byId(page, "msg-older").click();
      await page.waitForFunction((k) => document.querySelectorAll("[data-testid=msg-row]").length > k, n);
    }
    const all = await rows(page);
    expectEq([all.length, all[all.length - 1].offset], [end, 0], "back to offset 0, and Older gone");
  });
  await test("forward from an offset pages on with Load more", async () => {
    await open(page, "#/topics/many");
    await byId(page, "seek-limit").selectOption("20");
    await search(page, {seek: "offset", offset: 50});
    await byId(page, "msg-more").click();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=msg-row]").length === 40);
    expectEq((await rows(page)).map((r) => r.offset), Array.from({length: 40}, (_, i) => 50 + i), "offsets");
  });
  await test("columns sort: messages by offset, topics by message count, groups by lag", async () => {
    await open(page, "#/topics/orders");
    await search(page, {seek: "oldest"});
    await byId(page, "sort-offset").click();
    let offs = (await rows(page)).map((r) => r.offset);
    expectEq(offs, offs.slice().sort((a, b) => a - b), "ascending");
    await byId(page, "sort-offset").click();
    offs = (await rows(page)).map((r) => r.offset);
    expectEq(offs, offs.slice().sort((a, b) => b - a), "descending");
    await open(page, "#/topics");
    await byId(page, "sort-messages").click();
    await byId(page, "sort-messages").click();
    const api = await page.evaluate(async () => (await (await fetch("/api/v1/topics")).json()).topics.filter((t) => !t.internal));
    const most = api.reduce((a, b) => (b.messages > a.messages ? b : a));
    expectEq(await page.locator("[data-testid=topic-row]").first().getAttribute("data-topic"), most.name, "most messages first");
    await open(page, "#/groups");
    await byId(page, "sort-lag").click();
    await byId(page, "sort-lag").click();
    expectEq(await page.locator("[data-testid=group-row]").first().getAttribute("data-group"), "lagtest", "largest known lag first");
  });
  await test("groups can be searched", async () => {
    await open(page, "#/groups");
    const all = await page.locator("[data-testid=group-row]").count();
    await byId(page, "group-search").fill("IDL");
    const shown = await page.$$eval("[data-testid=group-row]", (trs) => trs.map((tr) => tr.dataset.group));
    expectEq(shown, ["idle"], "rows");
    expectEq(await byId(page, "group-count").textContent(), `1 of ${all}`, "badge");
  });
  await test("copy as command: the brook line reads the records the page shows, and so does the kcat line", async () => {
    await open(page, "#/topics/orders");
    await byId(page, "seek-limit").selectOption("20");
    const shown = await search(page, {partition: 0, seek: "offset", offset: 1});
    await byId(page, "copy-command").click();
    const brook = await byId(page, "command-brook").textContent();
    const kc = await byId(page, "command-kcat").textContent();
    expect(brook.startsWith(`brook -b ${env.BROKER} consume orders -p 0 -o 1 -c 20 -e`), brook);
    const want = shown.map((r) => `${r.offset} ${r.value}`);
    expectEq(brookRun(`${brook} -f '%o %s\\n'`).trim().split("\n"), want, "brook's records");
    expectEq(brookRun(`${kc} -q -f '%o %s\\n'`).trim().split("\n"), want, "kcat's records");
    await byId(page, "copy-brook").click();
    expectEq(await page.evaluate(() => navigator.clipboard.readText()), brook, "clipboard");
    /* from a time: the same instant as the page writes it */
    await open(page, "#/topics/events");
    const time = await page.evaluate((ms) => fmtTime(ms), Number(env.TS_B)); // eslint-disable-line no-undef
    const fromTime = await search(page, {seek: "timestamp", time});
    await byId(page, "copy-command").click();
    const line = await byId(page, "command-brook").textContent();
    expect(line.includes(`-o @${time}`), line);
    expectEq(brookRun(line).trim().split("\n"), fromTime.map((r) => r.value), "brook from the time");
  });
  await test("10 000-row lists are drawn a page at a time: 150 more topics make two pages", async () => {
    py(`import sys
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
a.create_topics([NewTopic('pg-%03d' % i, 1, 1) for i in range(150)])
a.close()`);
    await open(page, "#/topics");
    const total = (await page.evaluate(async () => (await (await fetch("/api/v1/topics")).json()).topics)).filter((t) => !t.internal).length;
    expectEq(await page.locator("[data-testid=topic-row]").count(), 100, "rows drawn");
    expectEq(await byId(page, "topics-page-info").textContent(), `1\u2013100 of ${total}`, "pager");
    await byId(page, "topics-page-next").click();
    expectEq(await page.locator("[data-testid=topic-row]").count(), total - 100, "second page");
    expect(await byId(page, "topics-page-next").isDisabled(), "no third page");
  });
}

async function writes(page) {
  await test("create a topic from the dialog, then delete it", async () => {
    await open(page, "#/topics");
    await byId(page, "create-topic-button").click();
    await byId(page, "create-topic-name").fill("scratch");
    await byId(page, "create-topic-partitions").fill("2");
    await byId(page, "create-topic-config").fill("retention.ms=3600000");
    await byId(page, "create-topic-submit").click();
    await page.waitForFunction(() => location.hash === "#/topics/scratch");
    await byId(page, "topic-name").waitFor();
    expectEq(await byId(page, "topic-partition-count").textContent(), "2", "partitions");
    await byId(page, "tab-config").click();
    const row = page.locator("[data-testid=config-row][data-name='retention.ms']");
    expectEq(await row.getAttribute("data-overridden"), "true", "retention.ms overridden");
    page.once("dialog", (d) => d.accept());
    await byId(page, "delete-topic-button").click();
    await page.waitForFunction(() => location.hash === "#/topics");
    await byId(page, "topics-table").waitFor();
    expectEq(await page.locator("[data-testid=topic-row][data-topic=scratch]").count(), 0, "scratch gone");
  });
  await test("reset an empty group's offsets to earliest from the group page", async () => {
    await open(page, "#/groups/lagtest");
    await byId(page, "reset-to").selectOption("earliest");
    await byId(page, "reset-preview-button").click();
    await byId(page, "reset-apply").click(); /* enabled once the preview is shown (manage.js) */
    await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=offset-committed]")]
      .every((td) => td.textContent === "0"));
    const lags = await page.$$eval("[data-testid=offset-row]", (trs) => trs.map((tr) =>
      [tr.querySelector("[data-testid=offset-lag]").textContent, tr.querySelector("[data-testid=offset-end]").textContent]));
    expect(lags.every(([lag, end]) => lag === end), `lag equals end after the reset: ${JSON.stringify(lags)}`);
  });
}

async function readOnly(page) {
  await test("read-only: the page says so and hides every write action", async () => {
    await open(page, "#/topics");
    expect(await byId(page, "read-only-badge").isVisible(), "badge visible");
    expectEq(await byId(page, "create-topic-button").count(), 0, "create topic buttons");
    await open(page, "#/topics/orders");
    await page.waitForSelector("[data-testid=msg-row]");
    expectEq(await byId(page, "produce-button").count(), 0, "produce buttons");
    expectEq(await byId(page, "delete-topic-button").count(), 0, "delete buttons");
    await open(page, "#/groups/lagtest");
    await byId(page, "offsets-table").waitFor();
    expectEq(await byId(page, "manage-group").count(), 0, "group management panels");
  });
  await test("read-only: the API refuses writes from the page with 403", async () => {
    const status = await page.evaluate(async () => {
      const r = await fetch("/api/v1/topics/orders/messages", {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({value: "x"})});
      return r.status;
    });
    expectEq(status, 403, "status");
  });
}

async function fuse(page) {
  await test("a line appended with echo >> through the FUSE mount appears in the live tail within 2 s", async () => {
    await startLive(page, "fusetopic");
    execSync(env.FUSE_APPEND, {timeout: 10000});
    const ms = await waitForRow(page, "appended-through-fuse", 2000);
    console.log(`# live tail in the browser: the FUSE line showed ${ms} ms after echo returned`);
  });
}

async function transactions(page) {
  await test("messages show committed records only until Show uncommitted is on, then mark each", async () => {
    await open(page, "#/topics/txtopic");
    const r = await search(page, {seek: "oldest"});
    expectEq(r.map((x) => [x.offset, x.value]), [[3, "commit-0"]], "committed rows");
    const answered = page.waitForResponse((x) => x.url().includes("isolation=read_uncommitted"));
    await byId(page, "isolation-toggle").check();
    await answered;
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=msg-row]").length === 5);
    const marks = await page.$$eval("[data-testid=msg-row]", (trs) => trs.map((tr) => {
      const b = tr.querySelector("[data-testid=msg-txn]");
      return [Number(tr.dataset.offset), b ? b.dataset.txn : null, b ? b.textContent : null];
    }));
    expectEq(marks, [[0, "aborted", "aborted"], [1, "aborted", "aborted"], [2, "marker", "ABORT marker"],
      [3, "committed", "committed"], [4, "marker", "COMMIT marker"]], "marked rows");
  });
}

/* Log in through the form (the page reloads with the session). */
async function logIn(page, user, password) {
  await open(page, "#/topics");
  await byId(page, "login-form").waitFor();
  await byId(page, "login-user").fill(user);
  await byId(page, "login-password").fill(password);
  await Promise.all([page.waitForNavigation(), byId(page, "login-submit").click()]);
  await page.waitForSelector("body[data-ready=true]");
}

async function login(page) {
  const asked = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/api/")) asked.push(u.pathname);
  });
  await test("logged out, the page shows only the login form and asks the API for nothing else", async () => {
    await open(page, "#/topics");
    await byId(page, "login-form").waitFor();
    expectEq(await page.locator("[data-testid=topic-row]").count(), 0, "topic rows");
    expectEq(await byId(page, "cluster-id").textContent(), "", "cluster id");
    expectEq([...new Set(asked)], ["/api/v1/session"], "API paths asked");
  });
  await test("a wrong password is told on the form", async () => {
    await byId(page, "login-user").fill("bob");
    await byId(page, "login-password").fill("not-his");
    await byId(page, "login-submit").click();
    await byId(page, "login-error").waitFor();
    expect((await byId(page, "login-error").textContent()).includes("wrong user name or password"),
      "the message");
  });
  await test("bob logs in and sees only the topic his ACL lets him describe", async () => {
    await logIn(page, "bob", "bob-secret");
    await page.waitForSelector("[data-testid=topic-row]");
    const names = await page.$$eval("[data-testid=topic-row]", (trs) => trs.map((tr) => tr.dataset.topic));
    expectEq(names, ["orders"], "topics");
    expectEq(await byId(page, "user").textContent(), "bob", "the user shown");
  });
  await test("the session cookie is HttpOnly and SameSite=Strict: page scripts cannot read it", async () => {
    const c = (await page.context().cookies()).find((x) => x.name === "brook_session");
    expect(c && c.httpOnly && c.sameSite === "Strict", `cookie ${JSON.stringify(c)}`);
    expectEq(await page.evaluate(() => document.cookie), "", "document.cookie");
  });
  await test("a write without the CSRF token is a 403, even with the session cookie", async () => {
    const status = await page.evaluate(async () => (await fetch("/api/v1/topics/orders/messages", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({value: "x"})})).status);
    expectEq(status, 403, "status");
  });
  await test("Delete in the page: bob has no delete permission, gets the 403, and orders stays", async () => {
    await open(page, "#/topics/orders");
    page.once("dialog", (d) => d.accept());
    await byId(page, "delete-topic-button").click();
    const t = byId(page, "toast").filter({hasText: "may not Delete topic orders"});
    await t.first().waitFor();
    const status = await page.evaluate(async () => (await fetch("/api/v1/topics/orders")).status);
    expectEq(status, 200, "orders still there");
  });
  await test("log out returns to the login form, and the old cookie opens nothing", async () => {
    await Promise.all([page.waitForNavigation(), byId(page, "logout").click()]);
    await byId(page, "login-form").waitFor();
    const status = await page.evaluate(async () => (await fetch("/api/v1/topics")).status);
    expectEq(status, 401, "status after logout");
  });
  await test("alice (a super user) creates and deletes a topic from the page", async () => {
    await logIn(page, "alice", "alice-secret");
    await byId(page, "create-topic-button").click();
    await byId(page, "create-topic-name").fill("scratch");
    await byId(page, "create-topic-partitions").fill("1");
    await byId(page, "create-topic-submit").click();
    await page.waitForFunction(() => location.hash === "#/topics/scratch");
    await byId(page, "topic-name").waitFor();
    page.once("dialog", (d) => d.accept());
    await byId(page, "delete-topic-button").click();
    await page.waitForFunction(() => location.hash === "#/topics");
    await byId(page, "topics-table").waitFor();
    expectEq(await page.locator("[data-testid=topic-row][data-topic=scratch]").count(), 0, "scratch gone");
  });
}

async function main() {
  await withBrowser({viewport: {width: 1280, height: 860}, timezoneId: ZONE, acceptDownloads: true}, async (ctx) => {
    await ctx.grantPermissions(["clipboard-read", "clipboard-write"], {origin: BASE});
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(10000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    if (MODE === "main") {
      const t0 = Date.now();
      await open(page, "#/topics");
      console.log(`# page load to first view rendered: ${Date.now() - t0} ms`);
      await topicTable(page);
      await browsing(page);
      await transactions(page);
      await liveTail(page);
      await produce(page);
      await groupLag(page);
      await unknownLag(page);
      await times(page);
      await staleCounts(page);
      await layout(page);
      await paging(page);
      await writes(page);
    } else if (MODE === "readonly") {
      await readOnly(page);
    } else if (MODE === "login") {
      await login(page);
    } else {
      await fuse(page);
    }
    await test(`no JavaScript errors on the page (${MODE})`, async () => expectEq(errors, [], "errors"));
  });
}

main().then(() => process.exit(failed() ? 1 : 0), (err) => {
  console.log(`not ok - browser run (${MODE}): ${String(err.message || err).split("\n")[0]}`);
  process.exit(1);
});
