// kafkajs 2.2.4 with SCRAM-SHA-256 and SCRAM-SHA-512 against brookd, over
// SASL_PLAINTEXT and SASL_SSL: produce and consume back; a wrong password refused;
// and a producer that outlives its 3 s session (connections.max.reauth.ms) keeps
// producing on one connection, re-authenticating as KIP-368 has it.
// usage: node sasl.js SASL_HOST:PORT SSL_HOST:PORT CA_FILE
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [plainBroker, sslBroker, caFile] = process.argv.slice(2);
let failures = 0;
function result(good, name) {
  console.log(`${good ? 'ok' : 'not ok'} - kafkajs: ${name}`);
  if (!good) failures++;
}

function client(mechanism, tls, password = 'secret') {
  return new Kafka({
    clientId: 'kjs-sasl',
    brokers: [tls ? sslBroker : plainBroker],
    ssl: tls ? { ca: [fs.readFileSync(caFile)], rejectUnauthorized: true, servername: 'localhost' } : false,
    sasl: { mechanism, username: 'admin', password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
}

async function roundTrip(mechanism, tls) {
  const kafka = client(mechanism, tls);
  const topic = `kjs-${mechanism}-${tls ? 'ssl' : 'plain'}`;
  const producer = kafka.producer();
  await producer.connect();
  const N = 100;
  await producer.send({ topic, messages: Array.from({ length: N }, (_, i) => ({ value: `v${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 20000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString());
        if (got.length === N) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  result(got.length === N && got.every((v, i) => v === `v${i}`),
    `${N} records out and back with ${mechanism} over ${tls ? 'SASL_SSL' : 'SASL_PLAINTEXT'} (${got.length})`);
}

async function wrongPassword() {
  const admin = client('scram-sha-512', false, 'wrong').admin();
  try {
    await admin.connect();
    await admin.listTopics();
    result(false, 'a wrong password is refused');
  } catch (e) {
    result(/SASL|Authentication/i.test(String(e.message || e.type)), `a wrong password is refused (${e.type || e.name})`);
  }
  await admin.disconnect().catch(() => {});
}

// one connection producing for 7 s across two 3 s sessions
async function reauthenticates() {
  const producer = client('scram-sha-256', false).producer();
  await producer.connect();
  const deadline = Date.now() + 7000;
  let sent = 0;
  let error = null;
  while (Date.now() < deadline && !error) {
    try {
      await producer.send({ topic: 'kjs-reauth', messages: [{ value: `r${sent}` }] });
      sent++;
    } catch (e) {
      error = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await producer.disconnect();
  result(!error && sent > 20, `a producer keeps producing across sessions of 3 s (${sent} sends${error ? ', ' + error.message : ''})`);
}

(async () => {
  for (const m of ['scram-sha-256', 'scram-sha-512']) {
    for (const tls of [false, true]) {
      try {
        await roundTrip(m, tls);
      } catch (e) {
        result(false, `${m} ${tls ? 'SASL_SSL' : 'SASL_PLAINTEXT'}: ${e.message}`);
      }
    }
  }
  await wrongPassword();
  try {
    await reauthenticates();
  } catch (e) {
    result(false, `re-authentication: ${e.message}`);
  }
  process.exit(failures ? 1 : 0);
})();
