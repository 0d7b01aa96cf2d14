"use strict";
/*
 * charts.test.js - the console's charts in a real browser (playwright-core and
 * Debian's chromium) against the brookd tests/browser/charts.sh started: topics
 * "rate" (empty) and "lagged" (50 records), group "committed" (offset 20 on
 * lagged) and group "nocommit" (a live member that never commits).
 *
 * The rate check: with the topic's page open, PRODUCER sends 200 records/s for
 * 10 s; each sample covers the second before it, so the samples that lie wholly
 * inside the paced span are compared with 200 - the chart's own points (its
 * data-points attribute) and the series API's.
 *
 * Environment: CONSOLE_URL, BROKER, PY, PRODUCER. Prints ok/not ok lines; exits
 * 1 when a check failed.
 */
const {execFile} = require("child_process");
const {BASE, test, failed, expect, withBrowser, open} = require("./lib.js");

const env = process.env;
const RATE = 200, SECONDS = 10;

async function getJSON(path) {
  const r = await fetch(BASE + path);
  expect(r.ok, `${path} answers ${r.status}`);
  return r.json();
}

function produce() {
  return new Promise((resolve, reject) => {
    execFile(env.PY, [env.PRODUCER, env.BROKER, "rate", String(RATE), String(SECONDS)], {timeout: 60000},
      (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout))));
  });
}

/* The samples [t, v] whose whole second lies inside [start, end]. */
function inside(points, span) {
  const out = [];
  for (let i = 1; i < points.length; i++)
    if (points[i - 1][0] >= span.start_ms + 100 && points[i][0] <= span.end_ms && points[i][1] !== null)
      out.push(points[i]);
  return out;
}

function near(values, what) {
  const avg = values.reduce((a, b) => a + b, 0) / values.length;
  console.log(`# ${what}: ${values.map((v) => v.toFixed(1)).join(" ")} (mean ${avg.toFixed(1)})`);
  expect(Math.abs(avg - RATE) <= RATE * 0.1, `${what}: mean ${avg.toFixed(1)} is not within 10 % of ${RATE}`);
}

/* Whether each chart panel, chart and drawing fits in its container. */
async function overflow(page) {
  return page.evaluate(() => {
    const bad = [];
    const main = document.getElementById("main").getBoundingClientRect();
    for (const p of document.querySelectorAll(".charts-panel")) {
      const r = p.getBoundingClientRect();
      if (p.scrollWidth > p.clientWidth + 1 || r.right > main.right + 1) bad.push(`panel ${p.dataset.testid}`);
    }
    for (const c of document.querySelectorAll("[data-testid=chart]")) {
      const r = c.getBoundingClientRect(), s = c.querySelector("svg").getBoundingClientRect();
      const box = c.parentElement.getBoundingClientRect();
      if (r.right > box.right + 1 || s.right > r.right + 1 || c.scrollWidth > c.clientWidth + 1)
        bad.push(`chart ${c.dataset.chart}`);
    }
    return bad;
  });
}

withBrowser({viewport: {width: 1280, height: 900}}, async (ctx) => {
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(15000);
  let span = null;
  await test("the topic page shows a produce chart that updates live while 200 records/s go in", async () => {
    await open(page, "#/topics/rate");
    await page.waitForSelector("[data-chart=topic-produce-records] [data-testid=chart-line]", {state: "attached"});
    span = await produce();
    expect(span.acked === RATE * SECONDS, `${span.acked} records acknowledged`);
    /* the sample after the span's end has been drawn */
    await page.waitForFunction((end) => {
      const l = document.querySelector("[data-chart=topic-produce-records] [data-testid=chart-line]");
      const pts = l ? JSON.parse(l.dataset.points || "[]") : [];
      return pts.length && pts[pts.length - 1][0] >= end;
    }, span.end_ms);
  });
  await test("the produce chart's latest points are within 10 % of 200 records/s", async () => {
    const pts = JSON.parse(await page.getAttribute("[data-chart=topic-produce-records] [data-testid=chart-line]",
      "data-points"));
    const full = inside(pts, span);
    expect(full.length >= 5, `only ${full.length} whole seconds inside the paced span`);
    near(full.slice(-3).map((p) => p[1]), "chart, last 3 seconds");
  });
  await test("the series API gives the same rate, and bytes in with it", async () => {
    const d = await getJSON("/api/v1/series/topics/rate");
    expect(d.tracked === true && d.interval_ms === 1000, "the topic has series, one sample a second");
    const pts = d.t.map((t, i) => [t, d.series.produce_records[i]]);
    const full = inside(pts, span);
    near(full.map((p) => p[1]), "API, every whole second");
    const bytes = d.t.map((t, i) => [t, d.series.produce_bytes[i]]);
    expect(inside(bytes, span).every((p) => p[1] > RATE * 10), "bytes in per second follow the records");
    expect(d.series.disk_bytes[d.t.length - 1] > RATE * SECONDS * 10, "disk usage counts the records");
  });

  await test("a group that has committed nothing shows its lag as unknown, not 0", async () => {
    await open(page, "#/groups/nocommit");
    await page.waitForSelector("[data-chart=group-lag][data-latest=unknown]");
    const latest = await page.textContent("[data-chart=group-lag] [data-testid=chart-latest]");
    expect(latest === "unknown", `the chart's figure says ${latest}`);
    const note = page.locator("[data-chart=group-lag] [data-testid=chart-note]");
    expect(await note.isVisible(), "a note says why");
    const d = await getJSON("/api/v1/series/groups/nocommit");
    expect(d.lag_unknown === true, "the API says lag_unknown");
    expect(d.series.lag.length > 0 && d.series.lag.every((v) => v === null), `lag points ${JSON.stringify(d.series.lag.slice(-5))}`);
  });
  await test("a group that committed offset 20 of 50 charts a lag of 30", async () => {
    await open(page, "#/groups/committed");
    await page.waitForSelector("[data-chart=group-lag][data-latest='30']");
    const d = await getJSON("/api/v1/series/groups/committed");
    expect(d.series.lag[d.series.lag.length - 1] === 30 && d.lag_unknown === false, "the API says 30");
  });

  await test("the Metrics page charts requests and Produce latency (p50 and p99)", async () => {
    await open(page, "#/metrics");
    await page.waitForSelector("[data-chart=api-latency][data-api=Produce] [data-key=p99_ms]", {state: "attached"});
    await page.waitForSelector("[data-testid=api-row][data-api=Produce]");
    await page.waitForFunction(() => Number(document.querySelector("[data-chart=broker-requests]").dataset.latest) >= 0 &&
      document.querySelector("[data-chart=broker-requests]").dataset.latest !== "");
    const pts = JSON.parse(await page.getAttribute("[data-chart=api-latency] [data-key=p50_ms]", "data-points"));
    const known = pts.filter((p) => p[1] !== null);
    expect(known.length > 0 && known.every((p) => p[1] > 0), "Produce's p50 has positive values");
    expect(await page.locator("a[data-testid=prometheus-link][href='/metrics']").count() === 1,
      "the raw Prometheus text is still linked");
  });
  await test("/metrics has the Produce latency histogram counting every produce", async () => {
    const text = await (await fetch(BASE + "/metrics")).text();
    const m = /^brook_request_duration_seconds_count\{api="Produce"\} (\d+)$/m.exec(text);
    expect(m && Number(m[1]) >= RATE * SECONDS / 50, `Produce _count ${m && m[1]}`);
    expect(/^brook_request_duration_seconds_bucket\{api="Produce",le="\+Inf"\} (\d+)$/m.exec(text)[1] === m[1],
      "the +Inf bucket equals _count");
  });

  for (const width of [1280, 390]) {
    await test(`at ${width} px no chart is wider than its box`, async () => {
      await page.setViewportSize({width, height: 900});
      for (const hash of ["#/metrics", "#/topics/rate", "#/groups/nocommit"]) {
        await open(page, hash);
        await page.waitForSelector("[data-testid=chart] svg[viewBox]", {state: "attached"});
        const bad = await overflow(page);
        expect(!bad.length, `${hash}: ${bad.join(", ")}`);
      }
    });
  }
}).then(() => process.exit(failed() ? 1 : 0), (err) => {
  console.log(`not ok - chart tests: ${err.message}`);
  process.exit(2);
});
