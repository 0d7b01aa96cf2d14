// kafka-go (Debian's golang-github-segmentio-kafka-go-dev) against brookd: a
// Writer with acks=all and keys (this kafka-go writes message format 1, which
// has no headers) and a group Reader that commits each record synchronously
// after reading it; each phase one process (see package check).
//
// This kafka-go sends fixed versions and no ApiVersions: Produce v2, Fetch v2,
// ListOffsets v1, Metadata v1, FindCoordinator v0, JoinGroup v1, SyncGroup v0,
// Heartbeat v0, LeaveGroup v0, OffsetCommit v2, OffsetFetch v1.
//
// usage: kafkago PHASE BROKER TOPIC GROUP N STATE
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"brookcompat/check"

	kafka "github.com/segmentio/kafka-go"
)

const name = "kafka-go"

func produce(a check.Args) {
	w := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{a.Broker}, Topic: a.Topic,
		Balancer: &kafka.Hash{}, RequiredAcks: -1, MaxAttempts: 2,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	msgs := make([]kafka.Message, a.N)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: check.Key(i), Value: check.Value(i)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), check.PhaseTime)
	err := w.WriteMessages(ctx, msgs...)
	cancel()
	closeErr := w.Close()
	check.Result(err == nil && closeErr == nil, "%s: Writer writes %d records with keys, acks all (%v, %v)",
		name, a.N, err, closeErr)
}

func consume(a check.Args) {
	reads, err := check.PhaseReads(name, a)
	if err != nil {
		check.Result(false, "%s: %v", name, err)
		return
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{a.Broker}, GroupID: a.Group, Topic: a.Topic,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 500 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), check.PhaseTime)
	var readErr, commitErr error
	for !reads.Done() {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			readErr = err
			break
		}
		reads.Add(m.Key, m.Value, nil, false)
		if err := r.CommitMessages(ctx, m); err != nil && commitErr == nil {
			commitErr = err
		}
	}
	cancel()
	closeErr := r.Close()
	check.Result(readErr == nil, "%s: FetchMessage (%v)", reads.Name, readErr)
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
