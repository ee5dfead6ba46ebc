package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// Burst: burstInvokes concurrent blocking invokes of an action of about
// burstCodeMB of code, against a server whose peak RSS must stay under
// burstRSSLimitMB (the code is read when a container is initialised, not
// held by every waiting invoke). `make chaos`-sized bursts (500) hold too;
// this is the short form.
const (
	burstInvokes    = 150
	burstCodeMB     = 3
	burstRSSLimitMB = 300
)

// TestStandaloneBurst: every invoke of the burst is answered as a success,
// or as the platform's error (whisk error, 429, or 202 for a blocking wait
// past its limit), never as the action's fault; the server's memory stays
// bounded.
func TestStandaloneBurst(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildStatic(t, "./cmd/epilogue")
	proxy := testenv.BuildStatic(t, "./cmd/epilogue-proxy")
	zip := actionZip(t, "tests/testaction")
	padded := padZip(t, zip, burstCodeMB<<20)
	s := startBinary(t, bin, proxy, t.TempDir())
	r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/big?overwrite=false",
		`{"name":"big","exec":{"kind":"blackbox","code":"`+base64.StdEncoding.EncodeToString(padded)+`","image":"epilogue/action-go"}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		outcome = map[string]int{}
	)
	for i := range burstInvokes {
		wg.Go(func() {
			r := s.wsk(t, "POST", "/api/v1/namespaces/_/actions/big?blocking=true", fmt.Sprintf(`{"quiet":true,"n":%d}`, i))
			key := strconv.Itoa(r.status)
			if r.status == http.StatusOK || r.status == http.StatusBadGateway {
				var rec entity.Activation
				if json.Unmarshal([]byte(r.body), &rec) == nil {
					key += " " + string(rec.Response.Status)
				}
			}
			mu.Lock()
			outcome[key]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("outcomes: %v", outcome)
	for k, n := range outcome {
		switch k {
		case "200 success", "502 whisk internal error", "429", "202":
		default:
			t.Errorf("%d invokes answered %q: only a success or the platform's own error is allowed", n, k)
		}
	}
	assert.Positive(t, outcome["200 success"], "the burst made progress")
	peak := peakRSSMB(t, s.proc.Cmd.Process.Pid)
	t.Logf("peak RSS of the standalone: %d MB", peak)
	assert.Less(t, peak, burstRSSLimitMB, "the standalone's peak RSS during the burst")
}

// padZip copies a zip and adds an entry of size random (incompressible)
// bytes, so that the action's code is that big.
func padZip(t *testing.T, in []byte, size int) []byte {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	require.NoError(t, err)
	var out bytes.Buffer
	w := zip.NewWriter(&out)
	for _, f := range r.File {
		require.NoError(t, w.Copy(f))
	}
	pad, err := w.CreateHeader(&zip.FileHeader{Name: "padding.bin", Method: zip.Store})
	require.NoError(t, err)
	_, err = io.CopyN(pad, rand.Reader, int64(size))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return out.Bytes()
}

// peakRSSMB reads the process's high-water resident set (VmHWM).
func peakRSSMB(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			require.NoError(t, err)
			return kb / 1024
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
