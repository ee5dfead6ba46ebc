package proxy

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// initMemArchiveBytes is the size of the archive TestInitMemoryBounded sends:
// just under OpenWhisk's 48 MB code limit.
const initMemArchiveBytes = 47 << 20

// initMemLimit is the bound on what /init may add to the proxy's memory for
// an archive of n bytes: 1.5 × the archive plus 20 MiB.
func initMemLimit(n int) uint64 { return uint64(n)*3/2 + 20<<20 }

// bigZip returns a zip of about size bytes: an exec script that answers
// every activation, and a stored file of random (incompressible) data that
// makes up the rest.
func bigZip(t testing.TB, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.Grow(size + 4096)
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "exec", Method: zip.Store}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	require.NoError(t, err)
	_, err = io.WriteString(w, "#!/bin/sh\nwhile read -r line; do echo '{\"ok\":true}' >&3; done\n")
	require.NoError(t, err)
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	require.NoError(t, err)
	rng := rand.New(rand.NewChaCha8([32]byte{47}))
	chunk := make([]byte, 1<<20)
	for left := size - buf.Len() - 512; left > 0; left -= len(chunk) {
		for i := range chunk {
			chunk[i] = byte(rng.Uint32())
		}
		_, err = w.Write(chunk[:min(left, len(chunk))])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// heapSampler records the largest heap (live and not yet swept objects) seen
// while it runs.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func readHeap() (objects, allocs uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.peak, _ = readHeap()
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v, _ := readHeap(); v > h.peak {
				h.peak = v
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	h.done.Wait()
	if v, _ := readHeap(); v > h.peak {
		h.peak = v
	}
	return h.peak
}

// TestInitMemoryBounded sends /init a 47 MiB archive (base64: about 63 MiB of
// body) and checks that the proxy's heap grows by at most 1.5 × the archive
// + 20 MiB meanwhile. Two measures: the peak of the heap sampled every
// millisecond, and the bytes allocated during /init, an upper bound of any
// growth that does not depend on when the samples or the GC ran.
func TestInitMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and sends a 47 MiB archive")
	}
	archive := bigZip(t, initMemArchiveBytes)
	n := len(archive)
	body := make([]byte, 0, base64.StdEncoding.EncodedLen(n)+128)
	body = append(body, `{"value":{"name":"big","main":"main","binary":true,"code":"`...)
	body = base64.StdEncoding.AppendEncode(body, archive)
	body = append(body, `"}}`...)
	archive = nil

	s, err := New(Config{ActionDir: filepath.Join(t.TempDir(), "action"), Stdout: io.Discard, Stderr: io.Discard})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	req := httptest.NewRequest(http.MethodPost, "/init", bytes.NewReader(body))
	w := httptest.NewRecorder()

	runtime.GC()
	base, allocs0 := readHeap()
	h := startHeapSampler()
	s.ServeHTTP(w, req)
	peak := h.finish()
	_, allocs1 := readHeap()
	runtime.KeepAlive(body)

	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	limit := initMemLimit(n)
	growth, allocated := peak-min(peak, base), allocs1-allocs0
	t.Logf("archive %.1f MiB, body %.1f MiB: heap growth peak %.1f MiB, allocated during /init %.1f MiB; limit %.1f MiB",
		mib(uint64(n)), mib(uint64(len(body))), mib(growth), mib(allocated), mib(limit))
	require.LessOrEqualf(t, growth, limit, "peak heap growth during /init: %.1f MiB; the limit is 1.5 × the archive + 20 MiB = %.1f MiB", mib(growth), mib(limit))
	require.LessOrEqualf(t, allocated, limit, "allocated during /init: %.1f MiB; the limit is 1.5 × the archive + 20 MiB = %.1f MiB", mib(allocated), mib(limit))
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
