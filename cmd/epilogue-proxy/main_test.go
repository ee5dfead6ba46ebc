package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/proxy"
)

func TestConfigFromEnv(t *testing.T) {
	cfg, err := configFromEnv([]string{
		"__OW_API_HOST=https://h.example/?a=b=c", "PATH=/bin", "OW_WAIT_FOR_ACK=1",
		completion.EnvSemantics + "=overlap", completion.EnvListen + "=127.0.0.1:9", "junk",
	}, 1)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"__OW_API_HOST": "https://h.example/?a=b=c"}, cfg.ActionEnv, "values containing '=' are kept whole")
	assert.True(t, cfg.WaitForAck)
	assert.Equal(t, completion.Overlap, cfg.Semantics)
	assert.Equal(t, "127.0.0.1:9", cfg.Listen)

	_, err = configFromEnv([]string{completion.EnvSemantics + "=eventual"}, 1)
	assert.ErrorContains(t, err, `use "isolated" or "overlap"`)
}

func TestConfigFromEnvDrainTimeout(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
		err   string
	}{
		{value: "", want: 0},
		{value: "90s", want: 90 * time.Second},
		{value: "5m", want: 5 * time.Minute},
		{value: "90", err: "want a positive Go duration such as 90s"},
		{value: "0s", err: "want a positive Go duration"},
		{value: "-1s", err: "want a positive Go duration"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			cfg, err := configFromEnv([]string{completion.EnvDrainTimeout + "=" + tc.value}, 1)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				assert.ErrorContains(t, err, completion.EnvDrainTimeout)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.DrainTimeout)
		})
	}
}

func TestConfigFromEnvBusyPoll(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		cpus  float64
		want  time.Duration
		err   string
	}{
		{name: "default on two CPUs", cpus: 2, want: proxy.DefaultBusyPoll},
		{name: "default on one CPU is off", cpus: 1, want: 0},
		{name: "default under a quota of 1.5 CPUs is off", cpus: 1.5, want: 0},
		{name: "set on one CPU", value: "50us", cpus: 1, want: 50 * time.Microsecond},
		{name: "turned off", value: "0", cpus: 8, want: 0},
		{name: "largest", value: "10ms", cpus: 2, want: 10 * time.Millisecond},
		{name: "no unit", value: "200", cpus: 2, err: "want a Go duration"},
		{name: "negative", value: "-1us", cpus: 2, err: "from 0 (off) to 10ms"},
		{name: "a unit too large", value: "200ms", cpus: 2, err: "from 0 (off) to 10ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var env []string
			if tc.value != "" {
				env = append(env, completion.EnvBusyPoll+"="+tc.value)
			}
			cfg, err := configFromEnv(env, tc.cpus)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				assert.ErrorContains(t, err, completion.EnvBusyPoll)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.BusyPoll)
		})
	}
}

// TestInheritedListener starts the proxy the way the standalone process
// backend does: with an already listening socket as fd 3.
func TestInheritedListener(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "epilogue-proxy")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lnFile, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // the duplicate in lnFile keeps the socket listening

	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{completion.EnvListenFD + "=3"}
	cmd.ExtraFiles = []*os.File{lnFile}
	require.NoError(t, cmd.Start())
	_ = lnFile.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	c := &http.Client{Timeout: time.Minute} // the first answer of a process started on a busy machine
	resp, err := c.Get("http://" + addr + completion.StatusPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestInheritedListenerErrors(t *testing.T) {
	for _, v := range []string{"x", "1", "-3"} {
		_, err := configFromEnv([]string{completion.EnvListenFD + "=" + v}, 1)
		assert.ErrorContains(t, err, "not an inherited descriptor", v)
	}
	_, err := configFromEnv([]string{completion.EnvListenFD + "=99"}, 1)
	assert.ErrorContains(t, err, "not a listening socket")
}

// TestUsageListsEveryVariable keeps -h in step with the contract: every
// variable configFromEnv reads is listed.
func TestUsageListsEveryVariable(t *testing.T) {
	for _, name := range []string{
		completion.EnvListen, completion.EnvListenFD, completion.EnvSemantics,
		completion.EnvNotifyURL, completion.EnvNotifyToken, completion.EnvInstance,
		completion.EnvActionDir, completion.EnvWaitForAck, completion.EnvLogInitError,
		completion.EnvExecutionEnv, completion.EnvDrainTimeout,
	} {
		assert.Contains(t, usage(), "  "+name+" ", "epilogue-proxy -h does not list %s", name)
	}
}
