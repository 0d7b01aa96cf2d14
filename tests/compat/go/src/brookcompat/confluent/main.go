// confluent-kafka-go (Debian's golang-github-confluentinc-confluent-kafka-go-dev,
// cgo over the system librdkafka) against brookd: a producer with acks=all, keys
// and headers, and a group consumer that commits each record synchronously
// after reading it; each phase one process (see package check).
//
// usage: confluent PHASE BROKER TOPIC GROUP N STATE
package main

import (
	"fmt"
	"os"
	"time"

	"brookcompat/check"

	"github.com/confluentinc/confluent-kafka-go/kafka"
)

const name = "confluent-kafka-go"

func produce(a check.Args) {
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": a.Broker, "acks": "all",
		"client.id": "confluent-go", "message.timeout.ms": 30000})
	if err != nil {
		check.Result(false, "%s: producer: %v", name, err)
		return
	}
	defer p.Close()
	delivered := make(chan kafka.Event, a.N)
	for i := 0; i < a.N; i++ {
		var hs []kafka.Header
		for _, h := range check.Headers(i) {
			hs = append(hs, kafka.Header{Key: string(h.Key), Value: h.Value})
		}
		err = p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &a.Topic, Partition: kafka.PartitionAny},
			Key:            check.Key(i), Value: check.Value(i), Headers: hs}, delivered)
		if err != nil {
			check.Result(false, "%s: Produce record %d: %v", name, i, err)
			return
		}
	}
	good := 0
	var firstErr error
	for i := 0; i < a.N; i++ {
		m := (<-delivered).(*kafka.Message)
		if m.TopicPartition.Error == nil {
			good++
		} else if firstErr == nil {
			firstErr = m.TopicPartition.Error
		}
	}
	check.Result(good == a.N, "%s: %d records with keys and headers delivered with acks=all (%d, %v)",
		name, a.N, good, firstErr)
}

func consume(a check.Args) {
	reads, err := check.PhaseReads(name, a)
	if err != nil {
		check.Result(false, "%s: %v", name, err)
		return
	}
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": a.Broker, "group.id": a.Group,
		"client.id": "confluent-go", "auto.offset.reset": "earliest", "enable.auto.commit": false})
	if err != nil {
		check.Result(false, "%s: consumer: %v", name, err)
		return
	}
	if err = c.SubscribeTopics([]string{a.Topic}, nil); err != nil {
		check.Result(false, "%s: subscribe: %v", name, err)
		c.Close()
		return
	}
	deadline := time.Now().Add(check.PhaseTime)
	var commitErr, lastErr error
	for !reads.Done() && time.Now().Before(deadline) {
		switch e := c.Poll(100).(type) {
		case *kafka.Message:
			var hs []check.Header
			for _, h := range e.Headers {
				hs = append(hs, check.Header{Key: []byte(h.Key), Value: h.Value})
			}
			reads.Add(e.Key, e.Value, hs, true)
			if _, err := c.CommitMessage(e); err != nil && commitErr == nil {
				commitErr = err
			}
		case kafka.Error:
			lastErr = e
		}
	}
	closeErr := c.Close()
	check.Result(reads.Done(), "%s: finished within %v (last client error: %v)", reads.Name, check.PhaseTime, lastErr)
	check.Result(commitErr == nil, "%s: every synchronous commit succeeds (%v)", reads.Name, commitErr)
	check.Result(closeErr == nil, "%s: Close leaves the group (%v)", reads.Name, closeErr)
	check.Finish(reads, a)
}

func main() {
	a := check.ParseArgs(0)
	switch a.Phase {
	case "produce":
		produce(a)
	case "first", "second":
		consume(a)
	default:
		fmt.Fprintln(os.Stderr, "PHASE is produce, first or second")
		os.Exit(2)
	}
	check.Exit()
}
