// @platformatic/kafka against brookd. This client speaks only flexible versions
// (Metadata 9+, Fetch 12+, CreateTopics 7, ...), so it is the test that brook
// answers what a Kafka 4 broker answers, topic ids included.
//
// What it asserts:
//   admin      createTopics returns a topic id; listTopics and metadata (describe)
//              show the topic with that id and 3 partitions; deleteTopics removes one.
//   producer   acks -1 (all), keys, two headers, values of every byte 0-255 and
//              empty ones; every record gets an offset.
//   groups     a classic group and a KIP-848 group (groupProtocol 'consumer') each
//              read every record exactly once, byte for byte (key, value, header
//              order and bytes), commit each one, and the committed offsets add up
//              to what was produced; a second member of the same group, started
//              after the first closed, reads only what was produced afterwards.
// usage: node test.mjs HOST:PORT  -- prints "ok - ..." / "not ok - ..." lines.
//
// The client's releases since 2.0 declare Node >= 22 but use only one thing Node 20
// lacks, Promise.withResolvers (ES2024); on an older Node the test supplies it with
// the standard's semantics, so the client runs unchanged.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
const { Admin, Consumer, Producer, ProduceAcks } = await import('@platformatic/kafka');

const broker = process.argv[2];
const TOPIC = 'plt';
const N = 300; // records per batch; the test produces two batches
const PHASE_MS = 60000; // bound on each consume phase
let failures = 0;

function result(good, name) {
  console.log(`${good ? 'ok' : 'not ok'} - platformatic: ${name}`);
  if (!good) failures++;
}

// Record i: a key naming it, a value whose bytes cover 0-255 (empty for every
// 50th record), and headers whose order and bytes must survive.
function record(i) {
  const len = i % 50 === 0 ? 0 : (i * 37) % 700 + 1;
  const value = Buffer.alloc(len);
  for (let j = 0; j < len; j++) value[j] = (i * 7 + j) & 0xff;
  const headers = new Map([
    [Buffer.from('idx'), Buffer.from(String(i))],
    [Buffer.from('bin'), Buffer.from([0, 0xff, i & 0xff, 0x80])],
  ]);
  return { key: Buffer.from(`k${i}`), value, headers };
}

function intact(message, i) {
  const want = record(i);
  const got = message.headerEntries;
  const wantHeaders = [...want.headers.entries()];
  return message.value.equals(want.value) && got.length === wantHeaders.length &&
    got.every(([k, v], n) => k.equals(wantHeaders[n][0]) && v.equals(wantHeaders[n][1]));
}

const base = { bootstrapBrokers: [broker], retries: 3, retryDelay: 200, timeout: 10000 };

async function admin_checks(admin) {
  const created = await admin.createTopics({ topics: [TOPIC, `${TOPIC}-tmp`], partitions: 3, replicas: 1 });
  const mine = created.find((t) => t.name === TOPIC) || {};
  const zero = '00000000-0000-0000-0000-000000000000';
  result(created.length === 2 && mine.partitions === 3 && typeof mine.id === 'string' &&
         mine.id.length > 0 && mine.id !== zero, `createTopics returns 3 partitions and an id (${mine.id})`);
  const topics = await admin.listTopics();
  result(topics.includes(TOPIC) && topics.includes(`${TOPIC}-tmp`), 'listTopics lists both topics');
  const meta = await admin.metadata({ topics: [TOPIC] });
  const t = meta.topics.get(TOPIC) || {};
  result(t.partitionsCount === 3 && t.id === mine.id,
         `metadata describes the topic: ${t.partitionsCount} partitions, id ${t.id}`);
  await admin.deleteTopics({ topics: [`${TOPIC}-tmp`] });
  result(!(await admin.listTopics()).includes(`${TOPIC}-tmp`), 'deleteTopics removes the topic');
}

async function produce(producer, topic, from, to) {
  const messages = [];
  for (let i = from; i < to; i++) messages.push({ topic, ...record(i) });
  const res = await producer.send({ messages, acks: ProduceAcks.ALL });
  const parts = (res.offsets || []).filter((o) => o.topic === topic);
  result(parts.length > 0 && parts.every((o) => o.offset >= 0n),
         `send records ${from}..${to - 1} to ${topic} with acks all (${parts.length} partitions)`);
}

// Read with a group until `want` distinct records are seen (or PHASE_MS passes),
// committing each record before taking the next; returns the counts.
async function consume(topic, groupOptions, want, label) {
  const consumer = new Consumer({ clientId: `plt-${label}`, ...base, ...groupOptions });
  const seen = new Map();
  let bad = 0;
  let timedOut = false;
  try {
    const stream = await consumer.consume({
      topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false, maxWaitTime: 500,
    });
    const timer = setTimeout(() => { timedOut = true; stream.close().catch(() => {}); }, PHASE_MS);
    for await (const message of stream) {
      const i = Number(message.key.toString().slice(1));
      if (!intact(message, i)) bad++;
      seen.set(i, (seen.get(i) || 0) + 1);
      await message.commit();
      if (seen.size >= want) break;
    }
    clearTimeout(timer);
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return { seen, bad, timedOut };
}

async function group_checks(admin, producer, topic, groupOptions, label) {
  const group = groupOptions.groupId;
  // first member: everything produced so far
  const first = await consume(topic, groupOptions, N, `${label}-1`);
  const dups = [...first.seen.values()].filter((n) => n > 1).length;
  const all = [...Array(N).keys()].every((i) => first.seen.has(i));
  result(all && first.seen.size === N && first.bad === 0,
         `${label} group reads all ${N} records byte for byte (${first.seen.size} seen, ${first.bad} differ` +
         `${first.timedOut ? ', timed out' : ''})`);
  result(dups === 0, `${label} group reads no record twice (${dups})`);

  const offsets = await admin.listConsumerGroupOffsets({ groups: [group] });
  const committed = (offsets[0]?.topics || []).filter((t) => t.name === topic)
    .flatMap((t) => t.partitions).reduce((s, p) => s + Number(p.committedOffset), 0);
  result(committed === N, `${label} group committed ${committed} of ${N}`);

  // second member, after the first left: resumes at the commits
  await produce(producer, topic, N, 2 * N);
  const second = await consume(topic, groupOptions, N, `${label}-2`);
  const old = [...second.seen.keys()].filter((i) => i < N).length;
  const fresh = [...second.seen.keys()].filter((i) => i >= N).length;
  result(old === 0 && fresh === N && second.bad === 0,
         `${label} group resumes where it committed (${fresh} new, ${old} re-read` +
         `${second.timedOut ? ', timed out' : ''})`);
}

// A phase that throws (an API the broker refuses, a timeout) is one failure; the
// next phase still runs.
async function phase(name, fn) {
  try {
    await fn();
  } catch (e) {
    const why = `${e && e.message}${e && e.errors ? ` [${e.errors.map((x) => x.message).join('; ')}]` : ''}`;
    result(false, `${name}: ${why.replace(/\n/g, ' ')}`);
  }
}

async function main() {
  const admin = new Admin({ clientId: 'plt-admin', ...base });
  const producer = new Producer({ clientId: 'plt-producer', ...base, acks: ProduceAcks.ALL });
  const t848 = `${TOPIC}-848`;
  // each group has a topic of its own: records 0..N-1, then N..2N-1 for the resume
  await phase('admin', () => admin_checks(admin));
  await phase('produce', () => produce(producer, TOPIC, 0, N));
  await phase('classic group', () =>
    group_checks(admin, producer, TOPIC, { groupId: 'plt-classic', groupProtocol: 'classic' }, 'classic'));
  await phase('produce for KIP-848', async () => {
    await admin.createTopics({ topics: [t848], partitions: 3, replicas: 1 });
    await produce(producer, t848, 0, N);
  });
  await phase('KIP-848 group', () =>
    group_checks(admin, producer, t848, { groupId: 'plt-consumer', groupProtocol: 'consumer' }, 'consumer (KIP-848)'));
  await producer.close().catch(() => {});
  await admin.close().catch(() => {});
}

// Whatever hangs, the run ends with a failure line rather than the runner's timeout.
setTimeout(() => { result(false, 'the whole run took over 170 s'); process.exit(1); }, 170000).unref();
main().then(() => process.exit(failures ? 1 : 0), (e) => {
  result(false, `unexpected error: ${e && e.message}`);
  process.exit(1);
});
