// kafkajs 2.2.4's admin over committed offsets, against brookd: a group reset to
// the earliest offsets reads every record again, and fetchOffsets names each
// topic once with all its partitions.
// usage: node admin.js HOST:PORT  -- prints "ok - ..." / "not ok - ..." lines.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const broker = process.argv[2];
const kafka = new Kafka({ clientId: 'kjs-admin', brokers: [broker], logLevel: logLevel.NOTHING });
let failures = 0;
function result(good, name) {
  console.log(`${good ? 'ok' : 'not ok'} - kafkajs admin: ${name}`);
  if (!good) failures++;
}

const N = 600;
const GROUP = 'kjsa-group';

// Read with a consumer of GROUP until `want` distinct records came or 30 s passed.
// kafkajs's consumer takes a negative committed offset (-2 included) as none and
// starts where fromBeginning says: the reset is what moves the group off the
// offsets it committed at the end.
async function consume(want) {
  const consumer = kafka.consumer({ groupId: GROUP });
  await consumer.connect();
  await consumer.subscribe({ topic: 'kjsa', fromBeginning: true });
  const seen = new Set();
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.key.toString());
        if (seen.size === want) { clearTimeout(timer); resolve(); }
      },
    });
  });
  await consumer.disconnect();
  return seen.size;
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'kjsa', numPartitions: 3 },
                                      { topic: 'kjsa2', numPartitions: 2 }] });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < N; i++) messages.push({ key: `k${i}`, value: `v${i}` });
  await producer.send({ topic: 'kjsa', messages, acks: -1 });
  await producer.send({ topic: 'kjsa2', messages: messages.slice(0, 10), acks: -1 });
  await producer.disconnect();

  // the group has read everything: its commits sit at the end of each partition
  const ends = await admin.fetchTopicOffsets('kjsa');
  await admin.setOffsets({ groupId: GROUP, topic: 'kjsa',
                           partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
  await admin.setOffsets({ groupId: GROUP, topic: 'kjsa2',
                           partitions: [{ partition: 0, offset: '1' }, { partition: 1, offset: '2' }] });

  const all = await admin.fetchOffsets({ groupId: GROUP });
  const names = all.map((t) => t.topic).sort();
  const parts = Object.fromEntries(all.map((t) => [t.topic, t.partitions.map((p) => p.partition).sort()]));
  result(JSON.stringify(names) === '["kjsa","kjsa2"]' &&
         JSON.stringify(parts) === '{"kjsa":[0,1,2],"kjsa2":[0,1]}',
         `fetchOffsets lists each topic once with all its partitions (${JSON.stringify(parts)})`);

  await admin.resetOffsets({ groupId: GROUP, topic: 'kjsa', earliest: true });
  const reset = await admin.fetchOffsets({ groupId: GROUP, topics: ['kjsa'] });
  const values = reset[0].partitions.map((p) => p.offset);
  result(values.length === 3 && values.every((o) => o === '-2'),
         `resetOffsets earliest commits -2 and fetchOffsets reads it back (${values})`);
  const read = await consume(N);
  result(read === N, `a consumer of the reset group reads every record (${read} of ${N})`);
  await admin.disconnect();
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
  result(false, `unexpected error: ${e && e.message}`);
  process.exit(1);
});
