package activation

import (
	"strconv"
	"testing"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
)

// The registry is on every /run's path: Begin when the request line goes
// out, Respond with the answer, and for the extension's actions a Finish
// with the done message. These benchmarks keep that path's cost visible to
// benchstat (go test -bench . ./proxy/activation).

func BenchmarkDoneAtResponse(b *testing.B) {
	r := New(Config{})
	deadline := time.Now().Add(time.Hour)
	ids := activationIDs(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		seq := uint64(i + 1)
		r.Begin(seq, ids[i], deadline)
		r.Respond(seq, true, nil, nil)
	}
}

func BenchmarkRespondThenFinish(b *testing.B) {
	r := New(Config{})
	deadline := time.Now().Add(time.Hour)
	ids := activationIDs(b.N)
	pending := []string{"write"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		seq := uint64(i + 1)
		r.Begin(seq, ids[i], deadline)
		r.Respond(seq, false, pending, nil)
		r.Finish(seq, Outcome{Phase: completion.PhaseDone})
	}
}

// activationIDs makes the ids up front, so that formatting them is not
// measured.
func activationIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "a" + strconv.Itoa(i)
	}
	return ids
}
