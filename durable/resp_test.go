package durable

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
		err  string
	}{
		{"+OK\r\n", "OK", ""},
		{":42\r\n", int64(42), ""},
		{"$3\r\nabc\r\n", "abc", ""},
		{"$-1\r\n", nil, ""},
		{"*2\r\n$1\r\na\r\n*1\r\n:1\r\n", []any{"a", []any{int64(1)}}, ""},
		{"-ERR bad\r\n", nil, "ERR bad"},
		{"$3\r\nabcd\r\n", nil, "CRLF"},
		{"$99999999999\r\n", nil, "bulk length"},
		{"*-5\r\n", nil, "array length"},
		{"?\r\n", nil, "type byte"},
		{"\r\n", nil, "empty line"},
		{strings.Repeat("*1\r\n", 20) + ":1\r\n", nil, "deeper"},
	} {
		got, err := readReply(bufio.NewReader(strings.NewReader(tc.in)), 0)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, "%q", tc.in)
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
}

// FuzzReadReply: no reply, however malformed, panics the reader or makes it
// allocate past its bounds.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "*2\r\n$1\r\na\r\n:1\r\n", "-ERR x\r\n", "$-1\r\n", "*1\r\n*1\r\n$0\r\n\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = readReply(bufio.NewReader(strings.NewReader(s)), 0)
	})
}

// FuzzParseAddr: an address from an action's environment or parameters
// never panics the parser, and one it accepts has a host and a port.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:6379", "redis://:pw@h:1/2", "redis://h", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, _, db, err := parseAddr(s)
		if err != nil {
			return
		}
		if _, _, err := net.SplitHostPort(addr); err != nil || db < 0 {
			t.Fatalf("%q: accepted %q db %d", s, addr, db)
		}
	})
}
