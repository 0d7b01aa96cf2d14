// kafkajs 2.2.4's transactional producer against brookd: three transactions over the
// 2 partitions of a topic, the first and last committed, the middle one aborted
// (records "kjs <txn> <i>"); tests/compat/txn_clients.py checks what consumers see.
// Then a kafkajs consumer (read_committed is its default) reads the committed ones.
// usage: node txn_clients.js HOST:PORT TOPIC -- prints "ok - ..." / "not ok - ..." lines.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [broker, topic] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'kjs-txn', brokers: [broker], logLevel: logLevel.NOTHING });
const R = 40;
let failures = 0;
function result(good, name) {
  console.log(`${good ? 'ok' : 'not ok'} - kafkajs: ${name}`);
  if (!good) failures++;
}

async function produce() {
  const admin = kafka.admin();
  await admin.connect();
  if (!(await admin.listTopics()).includes(topic)) {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  }
  await admin.disconnect();
  const producer = kafka.producer({ transactionalId: `kjs-${topic}`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let t = 0; t < 3; t++) {
    const txn = await producer.transaction();
    const messages = [];
    for (let i = 0; i < R; i++) messages.push({ value: `kjs ${t} ${i}`, partition: i % 2 });
    await txn.send({ topic, messages });
    if (t === 1) await txn.abort();
    else await txn.commit();
  }
  await producer.disconnect();
  result(true, 'a transactional producer commits, aborts and commits again');
}

async function consume() {
  const consumer = kafka.consumer({ groupId: `kjs-txn-reader-${topic}` }); // readUncommitted: false
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  await consumer.run({
    eachMessage: async ({ message }) => {
      got.push(message.value.toString());
      if (got.length >= 2 * R) done();
    },
  });
  const timer = setTimeout(done, 30000);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  const want = [];
  for (const t of [0, 2]) for (let i = 0; i < R; i++) want.push(`kjs ${t} ${i}`);
  result(JSON.stringify(got.sort()) === JSON.stringify(want.sort()),
    `a read_committed consumer sees the ${2 * R} committed records and none aborted (${got.length} read)`);
}

produce()
  .then(consume)
  .catch((e) => result(false, `transactions: ${e.message}`))
  .finally(() => process.exit(failures ? 1 : 0));
