"use strict";
/*
 * console.test.js - the web console in a real browser: playwright-core driving
 * Debian's chromium (headless) against a brookd that tests/browser/console.sh
 * started and seeded. Prints one "ok - ..." / "not ok - ..." line per check, and
 * "# ..." lines with measurements; exits 1 if anything failed.
 *
 *   MODE=main      the browsing, produce, live tail and group checks, and the
 *                  screenshot (SCREENSHOT=path)
 *   MODE=readonly  against a broker with console.read.only=true
 *   MODE=login     against a broker with users and ACLs: the login form, the
 *                  cookie's flags, CSRF, a refused delete, alice's writes, logout
 *   MODE=fuse      live tail of a line appended through the FUSE mount
 *                  (FUSE_APPEND is the shell command that appends it)
 *
 * Environment from console.sh: CONSOLE_URL, BROKER, TS_B (the first timestamp of
 * the second batch of "events"), GROUP_COMMITTED (JSON: partition -> the offset
 * the group "lagtest" committed on "orders", read with kafka-python).
 * Elements are found by data-testid only.
 */
const {chromium} = require("playwright-core");
const {execFileSync, execSync} = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const env = process.env;
const BASE = env.CONSOLE_URL;
const MODE = env.MODE || "main";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];
let failed = 0;

async function test(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}: ${String(err.message || err).split("\n")[0]}`);
  }
}

function expectEq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

function kcat(args, input) {
  return execFileSync("kcat", ["-b", env.BROKER, ...args], {input, timeout: 30000}).toString();
}

const byId = (page, id) => page.getByTestId(id);

/* A full page load (a hash change alone would keep the old view for a moment). */
async function open(page, hash) {
  await page.goto("about:blank");
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector("body[data-ready=true]");
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
    const time = await page.evaluate((ms) => toLocalInput(ms), Number(env.TS_B)); // eslint-disable-line no-undef
    const r = await search(page, {seek: "timestamp", time});
    expectEq(r.map((x) => x.value), ["event-b-1", "event-b-2", "event-b-3", "the NeEdLe record"], "values");
    expectEq(r[0].offset, 5, "first offset");
  });
  await test("a filter returns exactly the matching row (case-insensitive)", async () => {
    await open(page, "#/topics/events");
    const r = await search(page, {seek: "oldest", filter: "needle"});
    expectEq(r.map((x) => [x.offset, x.value]), [[8, "the NeEdLe record"]], "rows");
  });
  await test("a binary value renders as hex", async () => {
    await open(page, "#/topics/bin");
    await page.waitForSelector("[data-testid=msg-row]");
    const [r] = await rows(page);
    expectEq(r.format, "hex", "format of the preview");
    expect(r.value.startsWith("00 01 02 ff fe"), `preview ${r.value}`);
    await byId(page, "msg-row").first().click();
    const pre = byId(page, "msg-value-pretty");
    expectEq(await pre.getAttribute("data-format"), "hex", "format of the detail");
    expect((await pre.textContent()).startsWith("00000000  00 01 02 ff fe"), "hex dump");
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

async function screenshot(page) {
  await test("a screenshot of the console is taken", async () => {
    await page.setViewportSize({width: 1360, height: 860});
    await open(page, "#/topics/orders");
    await search(page, {seek: "oldest"});
    await byId(page, "msg-row").nth(1).click();
    await page.screenshot({path: env.SCREENSHOT});
    const head = fs.readFileSync(env.SCREENSHOT).subarray(0, 8);
    expectEq(head.toString("hex"), "89504e470d0a1a0a", "PNG signature");
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
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "brook-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: {width: 1280, height: 860},
    acceptDownloads: true,
  });
  try {
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
      await writes(page);
      await screenshot(page);
    } else if (MODE === "readonly") {
      await readOnly(page);
    } else if (MODE === "login") {
      await login(page);
    } else {
      await fuse(page);
    }
    await test(`no JavaScript errors on the page (${MODE})`, async () => expectEq(errors, [], "errors"));
  } finally {
    await ctx.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
}

main().then(() => process.exit(failed ? 1 : 0), (err) => {
  console.log(`not ok - browser run (${MODE}): ${String(err.message || err).split("\n")[0]}`);
  process.exit(1);
});
