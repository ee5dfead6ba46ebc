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
)

func TestConfigFromEnv(t *testing.T) {
	cfg, err := configFromEnv([]string{
		"__OW_API_HOST=https://h.example/?a=b=c", "PATH=/bin", "OW_WAIT_FOR_ACK=1",
		completion.EnvSemantics + "=overlap", completion.EnvListen + "=127.0.0.1:9", "junk",
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"__OW_API_HOST": "https://h.example/?a=b=c"}, cfg.ActionEnv, "values containing '=' are kept whole")
	assert.True(t, cfg.WaitForAck)
	assert.Equal(t, completion.Overlap, cfg.Semantics)
	assert.Equal(t, "127.0.0.1:9", cfg.Listen)

	_, err = configFromEnv([]string{completion.EnvSemantics + "=eventual"})
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
			cfg, err := configFromEnv([]string{completion.EnvDrainTimeout + "=" + tc.value})
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
		_, err := configFromEnv([]string{completion.EnvListenFD + "=" + v})
		assert.ErrorContains(t, err, "not an inherited descriptor", v)
	}
	_, err := configFromEnv([]string{completion.EnvListenFD + "=99"})
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
