package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
)

func TestParse(t *testing.T) {
	base := []string{"--listen", "unix:///run/e/docker.sock", "--journal", "/var/lib/e"}
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, cfg invokershim.Config)
		wantErr string // substring of stderr; "" = no error
	}{
		{name: "minimal", args: base, check: func(t *testing.T, cfg invokershim.Config) {
			assert.Equal(t, []string{"unix:///run/e/docker.sock"}, cfg.Listen)
			assert.Equal(t, "/var/lib/e", cfg.JournalDir)
			assert.Equal(t, invokershim.DefaultDocker, cfg.Docker)
			assert.Equal(t, invokershim.DefaultHoldTimeout, cfg.HoldTimeout)
			assert.Empty(t, cfg.NotifyListen, "no push unless asked")
			assert.Empty(t, cfg.MetricsListen, "no metrics server unless asked")
		}},
		{name: "every flag", args: append(append([]string(nil), base...),
			"--listen", "tcp://127.0.0.1:2375", "--docker", "tcp://127.0.0.1:2376",
			"--allow", "POST /containers/{id}/exec", "--allow", "POST /exec/{id}/start",
			"--runtime-image", "acme/runtime", "--max-linger", "90s", "--hold-timeout", "40s",
			"--notify-listen", "172.17.0.1:7543", "--notify-url", "http://shim:7543",
			"--allow-create", "cap-add=SYS_PTRACE", "--allow-create", "bind=/srv/ow",
			"--notify-key", "/etc/epilogue-shim/notify.key", "--metrics-listen", ":9464"),
			check: func(t *testing.T, cfg invokershim.Config) {
				assert.Equal(t, []string{"unix:///run/e/docker.sock", "tcp://127.0.0.1:2375"}, cfg.Listen)
				assert.Equal(t, "tcp://127.0.0.1:2376", cfg.Docker)
				assert.Equal(t, []invokershim.Rule{{Method: "POST", Pattern: "/containers/{id}/exec"}, {Method: "POST", Pattern: "/exec/{id}/start"}}, cfg.Allow)
				assert.Equal(t, []string{"acme/runtime"}, cfg.RuntimeImages)
				assert.Equal(t, 90*time.Second, cfg.Bounds.MaxLinger)
				assert.Equal(t, 40*time.Second, cfg.HoldTimeout)
				assert.Equal(t, "172.17.0.1:7543", cfg.NotifyListen)
				assert.Equal(t, "http://shim:7543", cfg.NotifyURL)
				assert.Equal(t, "/etc/epilogue-shim/notify.key", cfg.NotifyKeyFile)
				assert.Equal(t, ":9464", cfg.MetricsListen)
				assert.Equal(t, invokershim.CreatePolicy{CapAdd: []string{"SYS_PTRACE"}, BindPrefixes: []string{"/srv/ow"}}, cfg.CreatePolicy)
			}},
		{name: "the create policy is an invoker's by default", args: base, check: func(t *testing.T, cfg invokershim.Config) {
			assert.Equal(t, invokershim.CreatePolicy{}, cfg.CreatePolicy)
		}},
		{name: "no listen", args: []string{"--journal", "/j"}, wantErr: "--listen is required"},
		{name: "no journal", args: []string{"--listen", "unix:///s"}, wantErr: "--journal DIR is required"},
		{name: "bad allow", args: append(append([]string(nil), base...), "--allow", "exec"), wantErr: "is not an endpoint rule"},
		{name: "bad allow-create", args: append(append([]string(nil), base...), "--allow-create", "root"), wantErr: `--allow-create: unknown rule "root"`},
		{name: "stray argument", args: append(append([]string(nil), base...), "extra"), wantErr: `unexpected argument "extra"`},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "duration without a unit", args: append(append([]string(nil), base...), "--max-linger", "90"), wantErr: `"90" has no unit: write a duration with one, e.g. 90s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parse(tt.args, &stderr)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, stderr.String(), tt.wantErr)
				assert.NotContains(t, stderr.String(), "Usage:", "an error is not buried under the usage")
				assert.True(t, strings.HasSuffix(stderr.String(), "Run 'epilogue-shim -h' for the usage.\n"), "the error comes last: %q", stderr.String())
				return
			}
			require.NoError(t, err, "%s", stderr.String())
			tt.check(t, cfg)
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	version = "1.2.3"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "-version", args: []string{"-version"}, wantCode: 0, wantStdout: "epilogue-shim 1.2.3\n"},
		{name: "--version", args: []string{"--version"}, wantCode: 0, wantStdout: "epilogue-shim 1.2.3\n"},
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "epilogue-shim 1.2.3\n"},
		{name: "help", args: []string{"-h"}, wantCode: 0, wantStderr: "Usage: epilogue-shim"},
		{name: "usage error", args: nil, wantCode: 2, wantStderr: "--listen is required"},
		// A config the shim refuses: a TCP listener off loopback.
		{name: "refused config", args: []string{"--listen", "tcp://0.0.0.0:2375", "--journal", filepath.Join(t.TempDir(), "j")},
			wantCode: 1, wantStderr: "must be on loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // far above a busy machine's start-up
			defer cancel()
			assert.Equal(t, tt.wantCode, run(ctx, tt.args, &stdout, &stderr), "stderr: %s", stderr.String())
			if tt.wantStdout != "" {
				assert.Equal(t, tt.wantStdout, stdout.String())
			}
			assert.Contains(t, stderr.String(), tt.wantStderr)
		})
	}
}
