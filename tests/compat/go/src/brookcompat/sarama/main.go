// sarama (Debian's golang-github-shopify-sarama-dev) against brookd: a
// SyncProducer and a ConsumerGroup, each phase one process (see package check).
//
// usage: sarama VERSION PHASE BROKER TOPIC GROUP N STATE
//
// VERSION picks sarama's Config.Version, the only thing that changes what it
// sends; everything else is sarama's default, so the group commits with
// OffsetCommit v1 (offset retention unset) and starts new groups at the newest
// offset... except Offsets.Initial, set to the oldest so the group reads records
// produced before it joined:
//
//	oldest  V0_11_0_0, the oldest Version whose Produce (v3) and Fetch (v4)
//	        Kafka 4 accepts
//	newest  sarama.MaxVersion
//	unset   sarama's default Version (0.8.2): Produce v0 (message format 0, no
//	        headers), which Kafka 4 dropped and brook converts; sarama's group
//	        needs 0.10.2, so the "read" phase reads every partition with a plain
//	        Consumer: ListOffsets v0 and Fetch v0, each record once and byte-exact
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"brookcompat/check"

	"github.com/Shopify/sarama"
)

func config(variant string) (*sarama.Config, error) {
	c := sarama.NewConfig()
	switch variant {
	case "oldest":
		c.Version = sarama.V0_11_0_0
	case "newest":
		c.Version = sarama.MaxVersion
	case "unset":
	default:
		return nil, fmt.Errorf("unknown version %q", variant)
	}
	c.ClientID = "sarama-" + variant
	c.Producer.Return.Successes = true // a SyncProducer requires it
	c.Producer.Retry.Max = 1
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Net.DialTimeout = 10 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	return c, nil
}

func produce(a check.Args, c *sarama.Config, name string) {
	p, err := sarama.NewSyncProducer([]string{a.Broker}, c)
	if err != nil {
		check.Result(false, "%s: SyncProducer connects: %v", name, err)
		return
	}
	defer p.Close()
	sent := 0
	for i := 0; i < a.N; i++ {
		m := &sarama.ProducerMessage{Topic: a.Topic, Key: sarama.ByteEncoder(check.Key(i)),
			Value: sarama.ByteEncoder(check.Value(i))}
		if c.Version.IsAtLeast(sarama.V0_11_0_0) {
			for _, h := range check.Headers(i) {
				m.Headers = append(m.Headers, sarama.RecordHeader{Key: h.Key, Value: h.Value})
			}
		}
		if _, _, err = p.SendMessage(m); err != nil {
			break
		}
		sent++
	}
	if c.Version.IsAtLeast(sarama.V0_11_0_0) {
		check.Result(err == nil, "%s: SyncProducer sends %d records with keys and headers (%d sent, %v)",
			name, a.N, sent, err)
		return
	}
	check.Result(err == nil, "%s: SyncProducer sends %d records in message format 0 (%d sent, %v)",
		name, a.N, sent, err)
}

// readAll reads every partition of the topic from its oldest offset to the
// newest one, with sarama's plain Consumer.
func readAll(a check.Args, c *sarama.Config, name string) {
	reads := check.NewReads(name+" reader", a.N, nil)
	cons, err := sarama.NewConsumer([]string{a.Broker}, c)
	if err != nil {
		check.Result(false, "%s: Consumer connects: %v", name, err)
		return
	}
	defer cons.Close()
	parts, err := cons.Partitions(a.Topic)
	check.Result(err == nil && len(parts) > 0, "%s: the topic has partitions (%v, %v)", name, parts, err)
	deadline := time.After(check.PhaseTime)
	for _, part := range parts {
		pc, err := cons.ConsumePartition(a.Topic, part, sarama.OffsetOldest)
		if err != nil {
			check.Result(false, "%s: partition %d opens: %v", name, part, err)
			return
		}
		for pc.HighWaterMarkOffset() == 0 || len(reads.Seen) < a.N {
			select {
			case m := <-pc.Messages():
				reads.Add(m.Key, m.Value, nil, false)
				if m.Offset+1 >= pc.HighWaterMarkOffset() {
					goto next
				}
			case <-deadline:
				check.Result(false, "%s: partition %d read within %v", name, part, check.PhaseTime)
				pc.Close()
				return
			}
		}
	next:
		pc.Close()
	}
	dups := 0
	for _, n := range reads.Seen {
		if n > 1 {
			dups++
		}
	}
	check.Result(len(reads.Seen) == a.N && reads.Bad == 0 && reads.Foreign == 0,
		"%s: ListOffsets v0 and Fetch v0 read every record byte-exact (%d of %d, %d differ, %d unknown)",
		name, len(reads.Seen), a.N, reads.Bad, reads.Foreign)
	check.Result(dups == 0, "%s: no record read twice (%d)", name, dups)
}

// handler hands every claimed record to consume's loop, which judges and marks
// it; once the phase has what it came for, records still arriving are dropped
// unmarked, so the group's Close commits exactly what was read.
type handler struct{ ch chan claimed }

type claimed struct {
	s sarama.ConsumerGroupSession
	m *sarama.ConsumerMessage
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.ch <- claimed{s, m}
	}
	return nil
}

func consume(a check.Args, c *sarama.Config, name string) {
	reads, err := check.PhaseReads(name, a)
	if err != nil {
		check.Result(false, "%s: %v", name, err)
		return
	}
	g, err := sarama.NewConsumerGroup([]string{a.Broker}, a.Group, c)
	if err != nil {
		check.Result(false, "%s: ConsumerGroup connects: %v", name, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), check.PhaseTime)
	h := &handler{ch: make(chan claimed)}
	done := make(chan error, 1)
	go func() {
		var err error
		for ctx.Err() == nil && err == nil {
			err = g.Consume(ctx, []string{a.Topic}, h)
		}
		done <- err
	}()
	var consumeErr error
loop:
	for {
		select {
		case c := <-h.ch:
			var hs []check.Header
			for _, rh := range c.m.Headers {
				hs = append(hs, check.Header{Key: rh.Key, Value: rh.Value})
			}
			reads.Add(c.m.Key, c.m.Value, hs, true)
			c.s.MarkMessage(c.m, "")
			if reads.Done() {
				break loop
			}
		case consumeErr = <-done:
			break loop
		}
	}
	timedOut := ctx.Err() == context.DeadlineExceeded
	// Stop taking records, then close: the group commits what was marked.
	go func() {
		for range h.ch {
		}
	}()
	cancel()
	closeErr := g.Close()
	check.Result(consumeErr == nil && !timedOut, "%s: Consume runs without error (%v, timed out %v)",
		reads.Name, consumeErr, timedOut)
	check.Result(closeErr == nil, "%s: Close commits and leaves (%v)", reads.Name, closeErr)
	check.Finish(reads, a)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sarama oldest|newest|unset PHASE BROKER TOPIC GROUP N STATE")
		os.Exit(2)
	}
	variant := os.Args[1]
	a := check.ParseArgs(1)
	c, err := config(variant)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	name := "sarama " + variant + " (" + c.Version.String() + ")"
	switch a.Phase {
	case "produce":
		produce(a, c, name)
	case "read":
		readAll(a, c, name)
	case "first", "second":
		consume(a, c, name)
	default:
		fmt.Fprintln(os.Stderr, "PHASE is produce, first or second")
		os.Exit(2)
	}
	check.Exit()
}
