package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/api"
)

func TestParseStandaloneArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, cfg standalone.Config)
		wantErr string // substring of the error line; "" = no error
	}{
		{name: "durations and memory", args: []string{"--idle-timeout", "90s", "--max-linger", "2m", "--memory", "2g", "--semantics", "vanilla"},
			check: func(t *testing.T, cfg standalone.Config) {
				assert.Equal(t, 90*time.Second, cfg.Pool.IdleTimeout)
				assert.Equal(t, 2*time.Minute, cfg.Pool.Bounds.MaxLinger)
				assert.Equal(t, 2048, cfg.Pool.MemoryMB)
				assert.Equal(t, reclaim.Vanilla, cfg.Pool.Policy)
			}},
		{name: "duration without a unit", args: []string{"--pause-grace", "10"}, wantErr: `invalid value "10" for flag -pause-grace: "10" has no unit: write a duration with one, e.g. 10s`},
		{name: "not a duration", args: []string{"--max-linger", "soon"}, wantErr: `"soon" is not a duration: write e.g. 5s`},
		{name: "bad memory", args: []string{"--memory", "lots"}, wantErr: `--memory: "lots" is not a memory size`},
		{name: "bad port", args: []string{"--port", "70000"}, wantErr: "--port 70000 is not a port"},
		{name: "keep-alive policy", args: []string{"--keepalive", "greedydual"},
			check: func(t *testing.T, cfg standalone.Config) {
				require.NotNil(t, cfg.Pool.KeepAlive)
				assert.Equal(t, "greedydual", cfg.Pool.KeepAlive.Name())
			}},
		{name: "histogram falls back to the idle timeout", args: []string{"--keepalive", "histogram", "--idle-timeout", "3m"},
			check: func(t *testing.T, cfg standalone.Config) {
				h, ok := cfg.Pool.KeepAlive.(*keepalive.Histogram)
				require.True(t, ok, "%T", cfg.Pool.KeepAlive)
				_, keep, branch := h.Windows("never-called")
				assert.Equal(t, "standard", branch)
				assert.Equal(t, 3*time.Minute, keep, "not keepalive's own 10 minutes")
			}},
		{name: "fixed keep-alive is the pool's own timers", args: []string{"--keepalive", "fixed"},
			check: func(t *testing.T, cfg standalone.Config) { assert.Nil(t, cfg.Pool.KeepAlive) }},
		{name: "unknown keep-alive policy", args: []string{"--keepalive", "lru"},
			wantErr: `--keepalive: unknown keep-alive policy "lru" (want one of fixed, histogram, seasonal, greedydual)`},
		{name: "stray argument", args: []string{"now"}, wantErr: `unexpected argument "now"`},
		{name: "the guest key alone by default", args: nil,
			check: func(t *testing.T, cfg standalone.Config) {
				assert.Equal(t, map[string]string{api.GuestUUID: api.GuestKey}, cfg.Keys)
			}},
		{name: "more namespaces' keys", args: []string{"--auth", "alice-uuid:s3cret", "--auth", api.SystemUUID + ":sys:key"},
			check: func(t *testing.T, cfg standalone.Config) {
				assert.Equal(t, map[string]string{api.GuestUUID: api.GuestKey, "alice-uuid": "s3cret", api.SystemUUID: "sys:key"}, cfg.Keys)
			}},
		{name: "auth without a key", args: []string{"--auth", "alice-uuid"}, wantErr: `"alice-uuid" is not UUID:KEY`},
		{name: "auth given twice", args: []string{"--auth", "a:1", "--auth", "a:2"}, wantErr: "uuid a is given twice"},
		{name: "the guest uuid with another key", args: []string{"--auth", api.GuestUUID + ":other"}, wantErr: "keeps its well-known key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseStandaloneArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				require.Error(t, err)
				requireErrorLast(t, stderr.String(), "epilogue standalone", tt.wantErr)
				return
			}
			require.NoError(t, err, "%s", stderr.String())
			tt.check(t, cfg)
		})
	}
}
