"use strict";
/*
 * bench/console.js - the browser half of bench/console.sh: times from a page load
 * (or a click) until what the user asked for is drawn and can be clicked, on a
 * broker with many topics and one large topic. Prints "KEY VALUE" lines (medians
 * of ROUNDS runs, in ms), the contract of bench/bench.h.
 */
const path = require("path");
const fs = require("fs");
const os = require("os");
const {chromium} = require(path.join(process.env.BROOK_ROOT, "tests/browser/node_modules/playwright-core"));

const BASE = process.env.CONSOLE_URL;
const ROUNDS = Number(process.env.ROUNDS || 5);

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/* ms from navigation until selector is visible (the page's own work included) */
async function load(page, hash, selector) {
  await page.goto("about:blank");
  const t0 = Date.now();
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector(selector, {state: "visible"});
  return Date.now() - t0;
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "brook-bench-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run"], viewport: {width: 1280, height: 860},
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(60000);
  const r = {topics_list_ms: [], topics_api_ms: [], messages_first_ms: [], messages_older_ms: [], messages_oldest_ms: []};
  try {
    for (let i = 0; i < ROUNDS; i++) {
      r.topics_list_ms.push(await load(page, "#/topics", "[data-testid=topic-row] a"));
      r.topics_api_ms.push(await page.evaluate(async () => {
        const t0 = performance.now();
        await (await fetch("/api/v1/topics")).json();
        return Math.round(performance.now() - t0);
      }));
      r.messages_first_ms.push(await load(page, "#/topics/big", "[data-testid=msg-row]"));
      await page.waitForSelector("[data-testid=msg-older]", {state: "visible"});
      let t0 = Date.now();
      await page.getByTestId("msg-older").click();
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=msg-row]").length >= 100);
      r.messages_older_ms.push(Date.now() - t0);
      await page.getByTestId("seek-mode").selectOption("oldest");
      t0 = Date.now();
      await page.getByTestId("msg-search").click();
      await page.waitForFunction(() => {
        const row = document.querySelector("[data-testid=msg-row]");
        return row && row.dataset.offset === "0";
      });
      r.messages_oldest_ms.push(Date.now() - t0);
    }
    const rows = await page.evaluate(async () => (await (await fetch("/api/v1/topics")).json()).topics.length);
    console.log(`# topics listed by the API: ${rows}; rounds: ${ROUNDS}`);
    for (const [k, v] of Object.entries(r)) console.log(`${k} ${median(v)}`);
  } finally {
    await ctx.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
}

main().catch((e) => { console.error(`bench/console.js: ${e.message}`); process.exit(1); });
