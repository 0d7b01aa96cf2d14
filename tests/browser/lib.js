"use strict";
/*
 * lib.js - what the browser tests (tests/browser/*.test.js) share: the ok/not ok
 * line per check and the count of failures behind the exit status, the
 * assertions, Debian's chromium run headless in a throwaway profile, and a
 * full page load of one console view. CONSOLE_URL in the environment is the
 * console under test.
 */
const {chromium} = require("playwright-core");
const fs = require("fs");
const os = require("os");
const path = require("path");

const BASE = process.env.CONSOLE_URL;
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];
let failures = 0;

/* Run one check: "ok - NAME", or "not ok - NAME: the first line of why". A check
 * slower than 1.5 s also prints its time as a "#" line. */
async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok - ${name}`);
    if (Date.now() - t0 > 1500) console.log(`# ${name.slice(0, 40)}: ${Date.now() - t0} ms`);
  } catch (err) {
    failures++;
    console.log(`not ok - ${name}: ${String(err.message || err).split("\n")[0]}`);
  }
}

/* How many checks failed so far: the runner exits 1 when any did. */
function failed() {
  return failures;
}

function expectEq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/* Run fn(context) in chromium with a profile of its own (so that no run sees
 * another's cookies or storage) and OPTIONS for the context (viewport, time
 * zone, downloads...); the browser and its profile go when fn ends. */
async function withBrowser(options, fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "brook-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    ...options,
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
}

/* A full page load of a console view (a hash change alone would keep the old
 * view for a moment), drawn once body says data-ready. */
async function open(page, hash) {
  await page.goto("about:blank");
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector("body[data-ready=true]");
}

const byId = (page, id) => page.getByTestId(id);

module.exports = {BASE, test, failed, expect, expectEq, withBrowser, open, byId};
