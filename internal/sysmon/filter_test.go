package sysmon

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const traceSample = "SCHED 2147483647ms: gomaxprocs=1 idleprocs=1 threads=5 spinningthreads=0 needspinning=0 idlethreads=3 runqueue=0 [0 0]\n"

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: ""},
		{name: "a trace line is dropped", in: traceSample, want: ""},
		{name: "other lines pass around it", in: "a\n" + traceSample + "b\n", want: "a\nb\n"},
		{name: "an unfinished line passes at the end", in: "epilogue-proxy: oops", want: "epilogue-proxy: oops"},
		{name: "an unfinished trace-like line is not a trace line", in: "SCHED 1ms: x", want: "SCHED 1ms: x"},
		{name: "SCHED without milliseconds", in: "SCHED now: x\n", want: "SCHED now: x\n"},
		{name: "SCHED without the unit", in: "SCHED 12 ms: x\n", want: "SCHED 12 ms: x\n"},
		{name: "SCHED in the middle of a line", in: "panic: SCHED 1ms: x\n", want: "panic: SCHED 1ms: x\n"},
		{name: "prefixes of the pattern", in: "S\nSC\nSCHED\nSCHED \nSCHED 1\nSCHED 1m\n", want: "S\nSC\nSCHED\nSCHED \nSCHED 1\nSCHED 1m\n"},
		{name: "empty lines", in: "\n\n" + traceSample + "\n", want: "\n\n\n"},
		{name: "a trace-like line over the bound passes", in: "SCHED 1ms: " + strings.Repeat("x", maxHeld) + "\n", want: "SCHED 1ms: " + strings.Repeat("x", maxHeld) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Whole, and a byte at a time: the chunking never matters.
			for _, chunk := range []int{len(tc.in) + 1, 1, 7} {
				var out bytes.Buffer
				f := &Filter{W: &out}
				for in := tc.in; in != ""; {
					k := min(chunk, len(in))
					n, err := f.Write([]byte(in[:k]))
					require.NoError(t, err)
					require.Equal(t, k, n)
					in = in[k:]
				}
				require.NoError(t, f.Flush())
				assert.Equal(t, tc.want, out.String(), "in chunks of %d", chunk)
			}
		})
	}
}

// TestFilterPassesOtherOutputAtOnce: nothing but a possible trace line is
// held back, so a message written without its newline yet is out already.
func TestFilterPassesOtherOutputAtOnce(t *testing.T) {
	var out bytes.Buffer
	f := &Filter{W: &out}
	_, _ = f.Write([]byte("fatal error: "))
	assert.Equal(t, "fatal error: ", out.String())
	_, _ = f.Write([]byte("SCH"))
	assert.Equal(t, "fatal error: SCH", out.String(), "the middle of a line is not a line's start")
	_, _ = f.Write([]byte("\nSCH"))
	assert.Equal(t, "fatal error: SCH\n", out.String(), "a line's start that may be a trace is held")
	_, _ = f.Write([]byte("ED 5ms: gomaxprocs=1\nnext"))
	assert.Equal(t, "fatal error: SCH\nnext", out.String())
}

var traceRe = regexp.MustCompile(`^SCHED [0-9]+ms: `)

// FuzzFilter: in any chunking, the output is the input without its whole
// trace lines, as a line-by-line reference reads it.
func FuzzFilter(f *testing.F) {
	f.Add([]byte(traceSample+"a\nSCHED 1ms: b"), uint8(3))
	f.Add([]byte("SCHED 12ms: \nSCHED x\n\nS"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var want bytes.Buffer
		for line := range bytes.Lines(in) {
			if line[len(line)-1] == '\n' && len(line) <= maxHeld && traceRe.Match(line) {
				continue
			}
			want.Write(line)
		}
		var out bytes.Buffer
		fl := &Filter{W: &out}
		step := int(chunk%16) + 1
		for rest := in; len(rest) > 0; {
			k := min(step, len(rest))
			_, _ = fl.Write(rest[:k])
			rest = rest[k:]
		}
		require.NoError(t, fl.Flush())
		require.Equal(t, want.String(), out.String())
	})
}
