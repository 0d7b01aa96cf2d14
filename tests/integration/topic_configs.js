// kafkajs reads a topic the broker recompressed with gzip (compression.type=gzip):
// kafkajs 2.2.4 decodes gzip itself; zstd, lz4 and snappy would need codec
// plugins that are not part of the test dependencies. usage: node topic_configs.js HOST:PORT
const path = require('path')
const { Kafka, logLevel } = require(path.join(__dirname, '../compat/kafkajs/node_modules/kafkajs'))

async function main () {
  const kafka = new Kafka({ brokers: [process.argv[2]], logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: 'kjs-gzip' })
  const want = []
  for (let i = 0; i < 4; i++) for (let j = 0; j < 50; j++) want.push(`value-${i}-${j}`)
  const got = []
  await consumer.connect()
  await consumer.subscribe({ topic: 'z-gzip', fromBeginning: true })
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 30000)
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString())
        if (got.length >= want.length) { clearTimeout(timer); resolve() }
      }
    })
  })
  await consumer.disconnect()
  const ok = JSON.stringify(got) === JSON.stringify(want)
  console.log(`${ok ? 'ok' : 'not ok'} - topic_configs_js: kafkajs reads the recompressed gzip topic`)
  if (!ok) console.log(`# got ${got.length} of ${want.length}`)
  process.exit(ok ? 0 : 1)
}
main().catch((e) => { console.log(`not ok - topic_configs_js: ${e}`); process.exit(1) })
