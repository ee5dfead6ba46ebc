package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// The "init memory" section: the proxy's peak memory while /init unpacks an
// action near OpenWhisk's 48 MB code limit. In OpenWhisk's default 256 MB
// container the proxy, the action and the unpacked code share the memory
// limit, so /init must not hold several copies of the code.

// initMemArchiveMiB is the size of the archive sent: just under the 48 MB limit.
const initMemArchiveMiB = 47

// initMemCriterion is what the section judges.
const initMemCriterion = "the proxy's peak RSS (VmHWM of /proc/PID/status after POST /init) ≤ 1.5 × the archive + 20 MiB"

// initMemory is the section's row, in the report under "initMemory".
type initMemory struct {
	Criterion    string `json:"criterion"`
	Archive      string `json:"archive"`
	ArchiveBytes int    `json:"archiveBytes"`
	BodyBytes    int    `json:"bodyBytes"`
	// LimitBytes is 1.5 × ArchiveBytes + 20 MiB.
	LimitBytes uint64 `json:"limitBytes"`
	// ProxyRSSBeforeBytes and ProxyPeakBeforeBytes are the proxy's VmRSS and
	// VmHWM just before /init; ProxyPeakBytes is its VmHWM after /init, the
	// figure judged.
	ProxyRSSBeforeBytes  uint64 `json:"proxyRssBeforeBytes"`
	ProxyPeakBeforeBytes uint64 `json:"proxyPeakBeforeBytes"`
	ProxyPeakBytes       uint64 `json:"proxyPeakBytes"`
	ProxyRSSAfterBytes   uint64 `json:"proxyRssAfterBytes"`
	// ActionPeakBytes is the action process's VmHWM after /init, when found:
	// it shares the container's memory, but the criterion is the proxy's.
	ActionPeakBytes uint64  `json:"actionPeakBytes,omitempty"`
	InitStatus      int     `json:"initStatus"`
	InitMillis      float64 `json:"initMs"`
	Pass            bool    `json:"pass"`
}

// initMemArchive returns a zip of size bytes: exec (the fixture action, a
// real static executable) and data.bin, random and so incompressible,
// stored, making up the rest, from a fixed seed.
func initMemArchive(exec []byte, size int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(size + 4096)
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "exec", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(exec); err != nil {
		return nil, err
	}
	if err := zw.Flush(); err != nil {
		return nil, err
	}
	// What is left, less the data entry's headers and the central directory.
	left := size - buf.Len() - 256
	if left <= 0 {
		return nil, fmt.Errorf("the action (%d bytes compressed) leaves no room in a %d-byte archive", buf.Len(), size)
	}
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewChaCha8([32]byte{'i', 'n', 'i', 't'}))
	chunk := make([]byte, 1<<20)
	for ; left > 0; left -= len(chunk) {
		for i := 0; i+8 <= len(chunk); i += 8 {
			v := rng.Uint64()
			for k := range 8 {
				chunk[i+k] = byte(v >> (8 * k))
			}
		}
		if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// measureInitMemory POSTs /init of archive (base64, binary true) to the
// proxy serving at base, whose process is pid, and reads the proxy's peak
// RSS before and after. It takes any proxy that speaks /init: the one
// started here, or another given its URL and PID.
func measureInitMemory(ctx context.Context, base string, pid int, archive []byte, timeout time.Duration) (*initMemory, error) {
	m := &initMemory{
		Criterion:    initMemCriterion,
		Archive:      "zip: exec (the fixture action, deflated) + data.bin (random, stored)",
		ArchiveBytes: len(archive),
		LimitBytes:   uint64(len(archive))*3/2 + 20<<20,
	}
	var err error
	if m.ProxyRSSBeforeBytes, m.ProxyPeakBeforeBytes, err = procMemory(pid); err != nil {
		return m, err
	}
	body := make([]byte, 0, base64.StdEncoding.EncodedLen(len(archive))+128)
	body = append(body, `{"value":{"name":"initmem","main":"main","binary":true,"code":"`...)
	body = base64.StdEncoding.AppendEncode(body, archive)
	body = append(body, `"}}`...)
	m.BodyBytes = len(body)

	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	status, resp, err := do(ctx, c, http.MethodPost, base+"/init", body)
	m.InitMillis = float64(time.Since(t0).Microseconds()) / 1e3
	m.InitStatus = status
	if err != nil {
		return m, fmt.Errorf("POST /init of a %d-byte body: %w", len(body), err)
	}
	if status != http.StatusOK {
		return m, fmt.Errorf("POST /init of a %d-byte body: %d %s", len(body), status, clip(resp))
	}
	if m.ProxyRSSAfterBytes, m.ProxyPeakBytes, err = procMemory(pid); err != nil {
		return m, err
	}
	if child, _ := findChild(pid); child > 0 {
		_, m.ActionPeakBytes, _ = procMemory(child)
	}
	m.Pass = m.ProxyPeakBytes <= m.LimitBytes
	return m, nil
}

// procMemory reads VmRSS and VmHWM (peak RSS) of process pid.
func procMemory(pid int) (rss, hwm uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: cannot read %q", pid, line)
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %w", pid, err)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	if hwm == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
	}
	return rss, hwm, nil
}

// initMemory starts a fresh proxy, without initialising it, and measures
// its /init of an archive of archiveMiB MiB.
func (b *bencher) initMemory(ctx context.Context, bin string, action []byte, archiveMiB int, spec proxySpec) (*initMemory, error) {
	archive, err := initMemArchive(action, archiveMiB<<20)
	if err != nil {
		return nil, err
	}
	p, err := startProxyOnce(ctx, "initmem", bin, spec, b.timeout)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	// Unpacking 47 MiB takes far longer than one /run: allow a minute at least.
	m, err := measureInitMemory(ctx, p.base, p.cmd.Process.Pid, archive, max(b.timeout, time.Minute))
	p.actionPID, p.actionStart = findChild(p.cmd.Process.Pid)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w; %s", err, p.stderrTail())
	}
	return m, err
}

func printInitMemory(w io.Writer, m *initMemory) {
	fmt.Fprintf(w, "\ninit memory: POST /init of a %s MiB archive (%s), %s MiB of body; %s:\n",
		mibText(uint64(m.ArchiveBytes)), m.Archive, mibText(uint64(m.BodyBytes)), m.Criterion)
	fmt.Fprintf(w, "%-22s %-22s %12s %12s %12s %12s %10s %8s\n", "proxy RSS before", "proxy peak before", "proxy peak", "RSS after", "action peak", "limit", "/init", "verdict")
	verdict := passFail(m.Pass)
	if m.InitStatus != http.StatusOK || m.ProxyPeakBytes == 0 {
		verdict = "–" // not measured: the error says why
	}
	action := "–"
	if m.ActionPeakBytes > 0 {
		action = mibText(m.ActionPeakBytes) + " MiB"
	}
	fmt.Fprintf(w, "%-22s %-22s %12s %12s %12s %12s %7.0f ms %8s\n",
		mibText(m.ProxyRSSBeforeBytes)+" MiB", mibText(m.ProxyPeakBeforeBytes)+" MiB", mibText(m.ProxyPeakBytes)+" MiB",
		mibText(m.ProxyRSSAfterBytes)+" MiB", action, mibText(m.LimitBytes)+" MiB", m.InitMillis, verdict)
}

func mibText(n uint64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) }
