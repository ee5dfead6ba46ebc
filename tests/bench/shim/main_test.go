package main

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

func TestShare(t *testing.T) {
	for _, c := range []struct {
		name      string
		n, rounds int
	}{
		{"even", 3000, 10},
		{"uneven", 301, 10},
		{"fewer steps than rounds", 3, 10},
		{"one round", 50, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			sum, low, high := 0, c.n, 0
			for r := range c.rounds {
				k := share(c.n, c.rounds, r)
				sum += k
				low, high = min(low, k), max(high, k)
			}
			assert.Equal(t, c.n, sum, "every step is done once")
			assert.LessOrEqual(t, high-low, 1, "the rounds share the steps evenly")
		})
	}
}

func TestPathOrder(t *testing.T) {
	assert.Equal(t, []string{"direct", "shim"}, pathOrder(0, "direct", "shim"))
	assert.Equal(t, []string{"shim", "direct"}, pathOrder(1, "direct", "shim"))
	assert.Equal(t, []string{"direct", "shim"}, pathOrder(2, "direct", "shim"))
}

func TestDoneAt(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for _, c := range []struct {
		name                   string
		responseMs, postRespMs float64
		want                   time.Duration
	}{
		// 0.1 + 0.2 is 0.30000000000000004 in float64: rounded to the µs.
		{"float sums round to the microsecond", 0.1, 0.2, 300 * time.Microsecond},
		{"a lingering activation", 1.234, 50.056, 51290 * time.Microsecond},
		{"done at the response", 0.75, 0, 750 * time.Microsecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := completion.Activation{Start: start, ResponseMs: c.responseMs, PostResponseMs: c.postRespMs}
			assert.Equal(t, start.Add(c.want), doneAt(rec))
		})
	}
}

func TestHostAddrIn(t *testing.T) {
	addrs := []net.Addr{
		&net.IPNet{IP: net.ParseIP("127.0.0.1"), Mask: net.CIDRMask(8, 32)},
		&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},
		&net.IPNet{IP: net.ParseIP("172.17.0.1"), Mask: net.CIDRMask(16, 32)},
	}
	for _, c := range []struct {
		name    string
		subnets []string
		want    string
	}{
		{"the default bridge", []string{"172.17.0.0/16"}, "172.17.0.1"},
		{"IPv6 and junk subnets are skipped", []string{"fd00::/64", "not a cidr", "172.17.0.0/16"}, "172.17.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := hostAddrIn(c.subnets, addrs)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	_, err := hostAddrIn([]string{"10.9.0.0/16"}, addrs)
	assert.ErrorContains(t, err, "10.9.0.0/16", "no address of this machine is on that network")
}

func TestChecks(t *testing.T) {
	for _, c := range []struct {
		name, body string
		check      func([]byte) error
		wantErr    string
	}{
		{"inspect of the container", `{"Id":"abc","Name":"/x"}`, inspects("abc"), ""},
		{"inspect of another", `{"Id":"abd"}`, inspects("abc"), `want "abc"`},
		{"inspect not JSON", `oops`, inspects("abc"), "invalid character"},
		{"ps lists both", `[{"Id":"b"},{"Id":"a"},{"Id":"c"}]`, lists("a", "b"), ""},
		{"ps misses one", `[{"Id":"a"}]`, lists("a", "b"), "does not list b among 1"},
		{"ps not a list", `{"message":"no"}`, lists("a"), "no list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.check([]byte(c.body))
			if c.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, c.wantErr)
		})
	}
}
