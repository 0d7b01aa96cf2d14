// Command legacy_kafkago drives brookd with Debian's kafka-go (0.2), which speaks only
// the old versions: Produce v2 with message sets of magic 1, Fetch v2, and the
// classic group APIs. It prints "ok - ..." / "not ok - ..." lines.
//
//	legacy_kafkago BROKER TOPIC produce N       create TOPIC, write N keyed messages
//	legacy_kafkago BROKER TOPIC consume GROUP FIRST N
//	                                            read N messages with a group Reader,
//	                                            committing each, expecting FIRST first
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

var failed bool

func check(good bool, format string, args ...interface{}) {
	name := fmt.Sprintf(format, args...)
	if good {
		fmt.Println("ok - " + name)
	} else {
		fmt.Println("not ok - " + name)
		failed = true
	}
}

func produce(broker, topic string, n int) {
	conn, err := kafka.Dial("tcp", broker)
	if err == nil {
		err = conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 1, ReplicationFactor: 1})
		conn.Close()
	}
	check(err == nil, "kafka-go creates topic %s (%v)", topic, err)
	w := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{broker}, Topic: topic, BatchSize: 50})
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < n; i += 50 {
		var msgs []kafka.Message
		for j := i; j < i+50 && j < n; j++ {
			msgs = append(msgs, kafka.Message{
				Key:   []byte(fmt.Sprintf("key-%d", j)),
				Value: []byte(fmt.Sprintf("value-%d", j)),
				Time:  time.Unix(1700000000, 0).Add(time.Duration(j) * time.Millisecond),
			})
		}
		if err = w.WriteMessages(ctx, msgs...); err != nil {
			break
		}
	}
	check(err == nil, "kafka-go Writer.WriteMessages writes %d messages (%v)", n, err)
}

func consume(broker, topic, group string, first, n int) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:  []string{broker},
		Topic:    topic,
		GroupID:  group,
		MinBytes: 1,
		MaxBytes: 1 << 20,
		MaxWait:  500 * time.Millisecond,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	good, times := 0, 0
	var err error
	for i := first; i < first+n; i++ {
		var m kafka.Message
		if m, err = r.FetchMessage(ctx); err != nil {
			break
		}
		if m.Offset == int64(i) && string(m.Key) == fmt.Sprintf("key-%d", i) &&
			string(m.Value) == fmt.Sprintf("value-%d", i) {
			good++
		} else {
			fmt.Printf("# offset %d: key %q value %q\n", m.Offset, m.Key, m.Value)
		}
		want := time.Unix(1700000000, 0).Add(time.Duration(i) * time.Millisecond)
		if m.Time.Equal(want) {
			times++
		}
		if err = r.CommitMessages(ctx, m); err != nil {
			break
		}
	}
	check(err == nil && good == n,
		"kafka-go group Reader reads offsets %d-%d in order with their keys and values, committing each (%d right, %v)",
		first, first+n-1, good, err)
	check(times == n, "kafka-go reads back the create-time timestamps it wrote (%d of %d)", times, n)
}

func main() {
	a := os.Args
	if len(a) >= 5 && a[3] == "produce" {
		n, _ := strconv.Atoi(a[4])
		produce(a[1], a[2], n)
	} else if len(a) >= 7 && a[3] == "consume" {
		first, _ := strconv.Atoi(a[5])
		n, _ := strconv.Atoi(a[6])
		consume(a[1], a[2], a[4], first, n)
	} else {
		fmt.Fprintln(os.Stderr, "usage: legacy_kafkago BROKER TOPIC produce N | consume GROUP FIRST N")
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}
