// Package check holds what the Go compatibility programs share: the records they
// produce (record i has key "k<i>", a value whose bytes cover 0-255 or are empty,
// and two headers) and the bookkeeping that judges what a consumer group read.
//
// Each program runs in phases, one process per phase, so that brookd can be
// restarted between them (tests/compat/go.sh):
//
//	produce    records 0..N-1
//	first      a group member reads until it has half of them, commits every
//	           record it read, closes; the indices it read go to a state file
//	second     after brookd restarted, a member of the same group reads the rest
//
// What "second" asserts: together the two phases read every record (none lost),
// "second" reads nothing "first" read (the first member committed each record it
// read before closing cleanly, so Kafka's at-least-once delivery allows no
// re-read here), no record twice, every byte as produced.
package check

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// PhaseTime bounds each consume phase; the runner's timeout is above it.
const PhaseTime = 20 * time.Second

var failures int

// Result prints one "ok - ..." or "not ok - ..." line.
func Result(good bool, format string, args ...interface{}) {
	status := "ok"
	if !good {
		status = "not ok"
		failures++
	}
	fmt.Printf("%s - %s\n", status, fmt.Sprintf(format, args...))
}

// Exit ends the program with status 1 when any result failed.
func Exit() {
	if failures > 0 {
		os.Exit(1)
	}
	os.Exit(0)
}

// Key is record i's key.
func Key(i int) []byte { return []byte("k" + strconv.Itoa(i)) }

// Value is record i's value: empty for every 50th record, else up to 700 bytes
// whose values run through 0-255.
func Value(i int) []byte {
	if i%50 == 0 {
		return []byte{}
	}
	v := make([]byte, (i*37)%700+1)
	for j := range v {
		v[j] = byte(i*7 + j)
	}
	return v
}

// Header is one record header, in the order it was produced.
type Header struct{ Key, Value []byte }

// Headers are record i's headers.
func Headers(i int) []Header {
	return []Header{
		{[]byte("idx"), []byte(strconv.Itoa(i))},
		{[]byte("bin"), []byte{0, 0xff, byte(i), 0x80}},
	}
}

// Reads judges one phase's reads of records 0..N-1.
type Reads struct {
	Name    string
	N       int
	Seen    map[int]int  // index -> times read in this phase
	Before  map[int]bool // what the first phase read (second phase only)
	Bad     int          // records whose bytes differ from what was produced
	Foreign int          // keys that name no record of this run
}

// NewReads starts a phase's bookkeeping; before is nil in the first phase.
func NewReads(name string, n int, before map[int]bool) *Reads {
	return &Reads{Name: name, N: n, Seen: map[int]int{}, Before: before}
}

// Add records one read. headers is nil for clients that cannot carry headers.
func (r *Reads) Add(key, value []byte, headers []Header, withHeaders bool) {
	i, err := strconv.Atoi(string(bytes.TrimPrefix(key, []byte("k"))))
	if err != nil || len(key) == 0 || key[0] != 'k' || i < 0 || i >= r.N {
		r.Foreign++
		return
	}
	r.Seen[i]++
	if !bytes.Equal(value, Value(i)) || (withHeaders && !sameHeaders(headers, Headers(i))) {
		r.Bad++
	}
}

func sameHeaders(got, want []Header) bool {
	if len(got) != len(want) {
		return false
	}
	for n := range got {
		if !bytes.Equal(got[n].Key, want[n].Key) || !bytes.Equal(got[n].Value, want[n].Value) {
			return false
		}
	}
	return true
}

// Done says whether the phase has read what it came for: half the records in
// the first phase, everything the first did not read in the second.
func (r *Reads) Done() bool {
	if r.Before == nil {
		return len(r.Seen) >= r.N/2
	}
	for i := 0; i < r.N; i++ {
		if !r.Before[i] && r.Seen[i] == 0 {
			return false
		}
	}
	return true
}

// Report prints the phase's results.
func (r *Reads) Report() {
	dups, reread := 0, 0
	for i, n := range r.Seen {
		if n > 1 {
			dups++
		}
		if r.Before[i] {
			reread++
		}
	}
	Result(r.Bad == 0 && r.Foreign == 0, "%s: every record read is byte-exact (%d read, %d differ, %d unknown)",
		r.Name, len(r.Seen), r.Bad, r.Foreign)
	Result(dups == 0, "%s: no record read twice (%d)", r.Name, dups)
	if r.Before == nil {
		Result(r.Done(), "%s: the group reads at least %d of %d records (%d)", r.Name, r.N/2, r.N, len(r.Seen))
		return
	}
	Result(r.Done(), "%s: after the restart the group reads every record the first member did not (%d + %d of %d)",
		r.Name, len(r.Before), len(r.Seen)-reread, r.N)
	Result(reread == 0, "%s: nothing the first member committed is read again (%d)", r.Name, reread)
}

// SaveSeen writes the indices the first phase read, one a line.
func (r *Reads) SaveSeen(path string) error {
	var b bytes.Buffer
	for i := range r.Seen {
		fmt.Fprintln(&b, i)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// LoadSeen reads a state file written by SaveSeen.
func LoadSeen(path string) (map[int]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[int]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		i, err := strconv.Atoi(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		seen[i] = true
	}
	return seen, sc.Err()
}

// Args are every program's arguments: PHASE BROKER TOPIC GROUP N STATE.
type Args struct {
	Phase, Broker, Topic, Group, State string
	N                                  int
}

// ParseArgs reads os.Args after the program's own leading arguments (skip).
func ParseArgs(skip int) Args {
	a := os.Args[1+skip:]
	if len(a) != 6 {
		fmt.Fprintln(os.Stderr, "usage: PHASE(produce|first|second) BROKER TOPIC GROUP N STATEFILE")
		os.Exit(2)
	}
	n, err := strconv.Atoi(a[4])
	if err != nil || n < 2 {
		fmt.Fprintln(os.Stderr, "N must be a number >= 2")
		os.Exit(2)
	}
	return Args{Phase: a[0], Broker: a[1], Topic: a[2], Group: a[3], N: n, State: a[5]}
}

// PhaseReads sets up a consume phase's bookkeeping, loading the first phase's
// reads in the second.
func PhaseReads(name string, a Args) (*Reads, error) {
	if a.Phase == "first" {
		return NewReads(name+" first member", a.N, nil), nil
	}
	before, err := LoadSeen(a.State)
	if err != nil {
		return nil, err
	}
	return NewReads(name+" second member", a.N, before), nil
}

// Finish reports a consume phase and saves the first phase's reads.
func Finish(r *Reads, a Args) {
	r.Report()
	if a.Phase == "first" {
		if err := r.SaveSeen(a.State); err != nil {
			Result(false, "%s: save state: %v", r.Name, err)
		}
	}
}
