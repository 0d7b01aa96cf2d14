"use strict";
/*
 * manage.test.js - the console's management actions in a real browser
 * (playwright-core driving Debian's chromium) against the brookd that
 * tests/browser/manage.sh started and seeded. Each action is done through the
 * page and its effect read back with a Kafka client (kcat, kafka-python), never
 * with the console's own API. Prints one "ok - ..." / "not ok - ..." line per
 * check; exits 1 if anything failed.
 *
 *   MODE=main      topic config (and a refused value), partitions, deleting
 *                  records, an offset reset with its preview, deleting a
 *                  group's offsets and the group, a group with a live member,
 *                  and no horizontal overflow at 1280 and 390 px
 *   MODE=readonly  no management action is offered
 *
 * Seed (manage.sh): topic mt with 2 partitions of 10 records each, topic other;
 * groups g1, g2 and g3 committed at the end of mt; group busy has a live member.
 */
const {execFileSync} = require("child_process");
const {test, failed, expect, expectEq, withBrowser, open, byId} = require("./lib.js");

const env = process.env;
const MODE = env.MODE || "main";

function kcat(args) {
  return execFileSync("kcat", ["-b", env.BROKER, ...args], {timeout: 30000}).toString();
}

/* kafka-python: run code with B the broker; its printed JSON. */
function kafka(code) {
  const prog = "import json, sys\nfrom kafka import KafkaConsumer, TopicPartition\n" +
    "from kafka.admin import KafkaAdminClient, ConfigResource, ConfigResourceType\nB = sys.argv[1]\n" + code;
  return JSON.parse(execFileSync(env.PY || "python3", ["-c", prog, env.BROKER], {timeout: 60000}).toString());
}

function committed(group, topic, n) {
  return kafka(`c = KafkaConsumer(bootstrap_servers=B, group_id='${group}', enable_auto_commit=False)
print(json.dumps([c.committed(TopicPartition('${topic}', p)) for p in range(${n})]))
c.close()`);
}

function topicConfig(topic, key) {
  return kafka(`a = KafkaAdminClient(bootstrap_servers=B)
r = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, '${topic}')])[0]
print(json.dumps(dict((e[0], e[1]) for e in r.resources[0][4])['${key}']))
a.close()`);
}

function partitionCount(topic) {
  return (kcat(["-L", "-t", topic]).match(/partition \d+, leader/g) || []).length;
}

/* What this page adds fits its container: the topic's action buttons, an open
   dialog, the group's Manage panel and its forms (scrollWidth not above
   clientWidth); the reset preview scrolls inside its own box, which itself is no
   wider than the panel. The pages' own tables are tests/browser/console.sh's. */
async function overflows(page) {
  return page.evaluate(() => {
    const bad = [];
    const sel = ".view-head .actions, dialog[open], dialog[open] .form, [data-testid=manage-group], " +
      ".manage-group .inline-form, .manage-reset";
    for (const el of document.querySelectorAll(sel))
      if (el.scrollWidth > el.clientWidth + 1)
        bad.push(`${el.tagName.toLowerCase()}.${el.className} ${el.scrollWidth}>${el.clientWidth}`);
    const panel = document.querySelector("[data-testid=manage-group]");
    for (const el of document.querySelectorAll(".manage-preview"))
      if (el.getBoundingClientRect().width > panel.clientWidth + 1)
        bad.push(`preview box ${el.getBoundingClientRect().width}>${panel.clientWidth}`);
    return bad;
  });
}

async function topicActions(page) {
  await test("edit a topic's config from the page: a Kafka client reads the new value", async () => {
    await open(page, "#/topics/mt/config");
    await byId(page, "edit-config-button").click();
    await byId(page, "config-name").fill("retention.ms");
    await byId(page, "config-value-input").fill("3600000");
    await byId(page, "config-apply").click();
    await byId(page, "config-dialog").waitFor({state: "detached"});
    expectEq(topicConfig("mt", "retention.ms"), "3600000", "retention.ms (DescribeConfigs)");
    const row = page.locator("[data-testid=config-row][data-name='retention.ms']");
    await page.waitForFunction(() => document.querySelector("[data-testid=config-row][data-name='retention.ms']")
      ?.dataset.overridden === "true");
    expectEq(await row.getByTestId("config-value").textContent(), "3600000", "the table shows it");
  });
  await test("an invalid value is refused in the dialog with the broker's message", async () => {
    await open(page, "#/topics/mt/config");
    await byId(page, "edit-config-button").click();
    await byId(page, "config-name").fill("retention.ms");
    await byId(page, "config-value-input").fill("soon");
    await byId(page, "config-apply").click();
    const err = byId(page, "config-dialog-error");
    await err.waitFor();
    expectEq(await err.textContent(), "invalid value for retention.ms", "message");
    expectEq(topicConfig("mt", "retention.ms"), "3600000", "unchanged");
    await byId(page, "config-dialog-cancel").click();
  });
  await test("a dialog closes when the view changes (the back button), leaving the new view usable", async () => {
    await open(page, "#/topics/mt/config");
    await byId(page, "edit-config-button").click();
    await byId(page, "config-dialog").waitFor();
    await page.evaluate(() => { location.hash = "#/topics/mt/partitions"; });
    await byId(page, "config-dialog").waitFor({state: "detached", timeout: 3000});
    await byId(page, "add-partitions-button").click({timeout: 3000});
    await byId(page, "partitions-dialog-cancel").click();
  });
  await test("add partitions from the page: kcat sees 3", async () => {
    await open(page, "#/topics/mt/partitions");
    await byId(page, "add-partitions-button").click();
    await byId(page, "partitions-count").fill("3");
    await byId(page, "partitions-apply").click();
    await page.waitForFunction(() => document.querySelector("[data-testid=topic-partition-count]")?.textContent === "3");
    expectEq(partitionCount("mt"), 3, "partitions (Metadata)");
  });
  await test("delete records before an offset from the page: kcat's first record is that offset", async () => {
    await open(page, "#/topics/mt/partitions");
    await byId(page, "delete-records-button").click();
    await byId(page, "records-partition").selectOption("0");
    await byId(page, "records-offset").fill("4");
    await byId(page, "records-apply").click();
    await byId(page, "records-dialog").waitFor({state: "detached"});
    const first = kcat(["-C", "-t", "mt", "-p", "0", "-o", "beginning", "-c", "1", "-e", "-f", "%o"]);
    expectEq(first, "4", "first offset of partition 0");
  });
}

async function groupActions(page) {
  await test("reset offsets: the preview shows new offsets and lag and commits nothing", async () => {
    await open(page, "#/groups/g1");
    await byId(page, "reset-topic").fill("mt");
    await byId(page, "reset-partitions").fill("1");
    await byId(page, "reset-to").selectOption("shift");
    await byId(page, "reset-value").fill("-3");
    expect(await byId(page, "reset-apply").isDisabled(), "Apply is disabled before a preview");
    await byId(page, "reset-preview-button").click();
    await byId(page, "preview-row").first().waitFor();
    const rows = await page.$$eval("[data-testid=preview-row]", (trs) => trs.map((tr) =>
      [Number(tr.dataset.partition), tr.querySelector("[data-testid=preview-offset]").textContent,
        tr.querySelector("[data-testid=preview-lag]").textContent]));
    expectEq(rows, [[1, "7", "3"]], "preview rows");
    expectEq(committed("g1", "mt", 2), [10, 10], "committed after the preview");
  });
  await test("... and Apply commits exactly that: a Kafka client reads 7", async () => {
    await byId(page, "reset-apply").click();
    await page.waitForFunction(() => document.querySelector("[data-testid=offset-row][data-partition='1'] [data-testid=offset-committed]")
      ?.textContent === "7");
    expectEq(committed("g1", "mt", 2), [10, 7], "committed (OffsetFetch)");
  });
  await test("a time in the @ syntax previews the log start", async () => {
    await open(page, "#/groups/g1");
    await byId(page, "reset-topic").fill("mt");
    await byId(page, "reset-to").selectOption("timestamp");
    await byId(page, "reset-value").fill("@2000-01-01T00:00:00Z");
    await byId(page, "reset-preview-button").click();
    await byId(page, "preview-row").first().waitFor();
    const offs = await page.$$eval("[data-testid=preview-offset]", (tds) => tds.map((td) => td.textContent));
    expectEq(offs, ["4", "0", "0"], "earliest offsets of the 3 partitions");
  });
  await test("delete a group's offsets of a topic from the page: a Kafka client finds none", async () => {
    await open(page, "#/groups/g1");
    await page.locator("[data-testid=delete-offsets-button][data-topic=mt]").click();
    await byId(page, "offsets-apply").click();
    await byId(page, "offsets-dialog").waitFor({state: "detached"});
    expectEq(committed("g1", "mt", 2), [null, null], "committed");
  });
  await test("delete a group from the page: ListGroups no longer has it", async () => {
    await open(page, "#/groups/g2");
    await byId(page, "delete-group-button").click();
    await byId(page, "group-delete-apply").click();
    await page.waitForFunction(() => location.hash === "#/groups");
    const groups = kafka(`a = KafkaAdminClient(bootstrap_servers=B)
print(json.dumps(sorted(g[0] for g in a.list_consumer_groups())))
a.close()`);
    expect(!groups.includes("g2") && groups.includes("busy"), `groups: ${JSON.stringify(groups)}`);
  });
  await test("a group with a live member offers no reset or delete, and says why", async () => {
    await open(page, "#/groups/busy");
    await byId(page, "manage-busy").waitFor();
    expectEq(await byId(page, "reset-preview-button").count(), 0, "reset forms");
    expectEq(await byId(page, "delete-group-button").count(), 0, "delete buttons");
  });
}

async function layout(page) {
  for (const width of [1280, 390]) {
    await test(`no horizontal overflow at ${width} px: topic actions, a dialog, the reset preview`, async () => {
      await page.setViewportSize({width, height: 860});
      const bad = [];
      await open(page, "#/topics/mt/config");
      bad.push(...await overflows(page));
      await byId(page, "edit-config-button").click();
      bad.push(...await overflows(page));
      await byId(page, "config-dialog-cancel").click();
      await open(page, "#/groups/g1");
      await byId(page, "reset-topic").fill("mt");
      await byId(page, "reset-to").selectOption("earliest");
      await byId(page, "reset-preview-button").click();
      await byId(page, "preview-row").first().waitFor();
      bad.push(...await overflows(page));
      expectEq(bad, [], "elements wider than their box");
    });
  }
  await page.setViewportSize({width: 1280, height: 860});
}

async function readOnly(page) {
  await test("read-only: no management action is offered", async () => {
    await open(page, "#/topics/mt");
    await byId(page, "topic-name").waitFor();
    for (const id of ["edit-config-button", "add-partitions-button", "delete-records-button"])
      expectEq(await byId(page, id).count(), 0, id);
    await open(page, "#/groups/g3");
    await byId(page, "offsets-table").waitFor();
    expectEq(await byId(page, "manage-group").count(), 0, "group management panels");
  });
}

async function main() {
  await withBrowser({viewport: {width: 1280, height: 860}}, async (ctx) => {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(10000);
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    if (MODE === "main") {
      await topicActions(page);
      await groupActions(page);
      await layout(page);
    } else {
      await readOnly(page);
    }
    await test(`no JavaScript errors on the page (management, ${MODE})`, async () => expectEq(errors, [], "errors"));
  });
}

main().then(() => process.exit(failed() ? 1 : 0), (err) => {
  console.log(`not ok - browser management run (${MODE}): ${String(err.message || err).split("\n")[0]}`);
  process.exit(1);
});
