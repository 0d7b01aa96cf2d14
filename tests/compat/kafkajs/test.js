// kafkajs 2.2.4 against brookd: admin, produce (plain and gzip), a consumer group
// that reads everything exactly once and commits, and the admin view of it.
// usage: node test.js HOST:PORT  -- prints "ok - ..." / "not ok - ..." lines.
'use strict';
const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = require('kafkajs');

const broker = process.argv[2];
const kafka = new Kafka({ clientId: 'kjs-compat', brokers: [broker], logLevel: logLevel.NOTHING });
let failures = 0;
function result(good, name) {
  console.log(`${good ? 'ok' : 'not ok'} - kafkajs: ${name}`);
  if (!good) failures++;
}

const N = 2000;
function record(i) {
  return { key: `k${i}`, value: `value-${i}-${'x'.repeat(i % 50)}`, headers: { idx: String(i) } };
}

// Kafka's synonyms, most specific first: a topic override (TOPIC_CONFIG, 1), then the
// broker's settings of the matching broker key: from its configuration (file or -o)
// (STATIC_BROKER_CONFIG, 4; kafkajs.sh starts brookd with log.retention.hours=100)
// and its built-in default (DEFAULT_CONFIG, 5).
function synonyms(entry) {
  return JSON.stringify((entry.configSynonyms || []).map((s) => [s.configName, s.configValue, s.configSource]));
}

async function describe_synonyms(admin) {
  await admin.createTopics({ topics: [{ topic: 'kjs-cfg', configEntries: [{ name: 'segment.bytes', value: '1048576' }] }] });
  const dc = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-cfg', configNames: ['segment.bytes'] }],
  });
  const entry = dc.resources[0].configEntries[0] || {};
  const want = JSON.stringify([['segment.bytes', '1048576', 1], ['log.segment.bytes', '1073741824', 5]]);
  result(entry.configValue === '1048576' && entry.configSource === 1 && synonyms(entry) === want,
         `describeConfigs with includeSynonyms: a topic override, then the broker default (${synonyms(entry)})`);

  const cluster = await admin.describeCluster();
  const node = String(cluster.brokers[0].nodeId);
  const bc = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.BROKER, name: node, configNames: ['log.retention.hours'] }],
  });
  const b = bc.resources[0].configEntries[0] || {};
  const bwant = JSON.stringify([['log.retention.hours', '100', 4], ['log.retention.hours', '168', 5]]);
  result(b.configValue === '100' && b.configSource === 4 && synonyms(b) === bwant,
         `describeConfigs with includeSynonyms on the broker: the configured value, then the default (${synonyms(b)})`);
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'kjs', numPartitions: 3 }, { topic: 'kjs-tmp' }] });
  const topics = await admin.listTopics();
  result(topics.includes('kjs') && topics.includes('kjs-tmp'), 'createTopics and listTopics');
  const meta = await admin.fetchTopicMetadata({ topics: ['kjs'] });
  result(meta.topics[0].partitions.length === 3, 'fetchTopicMetadata shows 3 partitions');
  await admin.deleteTopics({ topics: ['kjs-tmp'] });
  result(!(await admin.listTopics()).includes('kjs-tmp'), 'deleteTopics');
  const dc = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs', configNames: ['segment.bytes'] }],
  });
  const entry = dc.resources[0].configEntries[0] || {};
  const syn = entry.configSynonyms || [];
  result(entry.configValue === '1073741824' && syn.length === 1 &&
         syn[0].configName === 'log.segment.bytes' && syn[0].configValue === '1073741824',
         'describeConfigs with includeSynonyms names the broker default');
  await describe_synonyms(admin);

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const half = N / 2;
  const first = [], second = [];
  for (let i = 0; i < half; i++) first.push(record(i));
  for (let i = half; i < N; i++) second.push(record(i));
  const r1 = await producer.send({ topic: 'kjs', messages: first, acks: -1 });
  const r2 = await producer.send({ topic: 'kjs', messages: second, acks: -1,
                                   compression: CompressionTypes.GZIP });
  result(r1.concat(r2).every((p) => p.errorCode === 0), `send ${N} records (plain and gzip)`);
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'kjs-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'kjs', fromBeginning: true });
  const seen = new Map();
  let bad = 0;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 60000);
    consumer.run({
      eachMessage: async ({ message }) => {
        const i = Number(message.key.toString().slice(1));
        const want = record(i);
        if (message.value.toString() !== want.value || message.headers.idx.toString() !== want.headers.idx)
          bad++;
        seen.set(i, (seen.get(i) || 0) + 1);
        if (seen.size === N) { clearTimeout(timer); resolve(); }
      },
    });
  });
  const dups = [...seen.values()].filter((n) => n > 1).length;
  result(seen.size === N && bad === 0, `the group reads all ${N} records intact (${seen.size})`);
  result(dups === 0, `no record read twice (${dups})`);
  await consumer.disconnect(); // commits what it read, then leaves the group

  const offsets = await admin.fetchOffsets({ groupId: 'kjs-group', topics: ['kjs'] });
  const committed = offsets[0].partitions.reduce((s, p) => s + Number(p.offset), 0);
  result(committed === N, `fetchOffsets: the group committed ${committed} of ${N}`);
  const groups = await admin.listGroups();
  result(groups.groups.some((g) => g.groupId === 'kjs-group'), 'listGroups lists the group');
  const desc = await admin.describeGroups(['kjs-group']);
  result(desc.groups[0].state === 'Empty', `describeGroups: ${desc.groups[0].state} after leaving`);
  await admin.disconnect();
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
  result(false, `unexpected error: ${e && e.message}`);
  process.exit(1);
});
