package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/api"
	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
)

// The standalone section: what an invoke through `epilogue standalone`
// (in this process, process backend, a temp data dir) adds to the /run of
// the same action on a proxy of its own, measured in the same rounds.
const (
	// standaloneAction is the action's name in the standalone.
	standaloneAction = "hello"
	// standaloneValue is what every invoke and /run sends, and
	// standaloneResult what examples/hello answers to it.
	standaloneValue  = `{"name":"bench"}`
	standaloneResult = `{"greeting":"Hello, bench!"}`
	// standaloneStartBound bounds the server's start and the build.
	standaloneStartBound = 5 * time.Minute
	// recordPoll is the gap between GETs of an accepted activation's
	// record (not measured: it keeps activations from piling up).
	recordPoll = 2 * time.Millisecond
	// recordBound bounds the wait for an accepted activation's record.
	recordBound = time.Minute
	// standaloneWarmup caps a row's warm-up and standaloneBlock its
	// blocks: an invoke costs what a hundred /runs do.
	standaloneWarmup = 50
	standaloneBlock  = 100
)

// standaloneBench is the "standalone" section of the JSON.
type standaloneBench struct {
	Action      string `json:"action"`
	ActionBytes int    `json:"action_zip_bytes"`
	N           int    `json:"n"`
	Warmup      int    `json:"warmup"`
	Schedule    string `json:"schedule"`
	// Run, Blocking and Accept are the three rows: a direct /run of the
	// action on a proxy, a warm blocking invoke (?blocking=true&result=true)
	// and a non-blocking invoke's 202.
	Run      *modeResult `json:"run_direct"`
	Blocking *modeResult `json:"invoke_blocking"`
	Accept   *modeResult `json:"invoke_accept"`
	// Added is what the standalone adds: blocking − run, p50 and p99, in
	// ms; accept is the 202's latency itself (nothing runs before it).
	AddedBlockingP50Ms float64 `json:"added_blocking_p50_ms"`
	AddedBlockingP99Ms float64 `json:"added_blocking_p99_ms"`
	AcceptP50Ms        float64 `json:"accept_p50_ms"`
	AcceptP99Ms        float64 `json:"accept_p99_ms"`
	// Goals are issue 14's: blocking adds ≤ 2 ms at p50, accept ≤ 1 ms.
	GoalBlockingP50Ms float64 `json:"goal_added_blocking_p50_ms"`
	GoalAcceptP50Ms   float64 `json:"goal_accept_p50_ms"`
	BlockingMet       bool    `json:"blocking_goal_met"`
	AcceptMet         bool    `json:"accept_goal_met"`
}

// benchStandalone builds the action in dir, runs it on a proxy and in a
// standalone, and measures the three rows in interleaved blocks of block.
func (b *bencher) benchStandalone(ctx context.Context, proxyBin, dir string, n, block int) (*standaloneBench, error) {
	tmp, err := os.MkdirTemp("", "epilogue-bench-standalone-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bctx, cancel := context.WithTimeout(ctx, standaloneStartBound)
	defer cancel()
	zipPath := filepath.Join(tmp, "action.zip")
	if _, err := actionbuild.Build(bctx, actionbuild.Options{Dir: dir, Output: zipPath}); err != nil {
		return nil, fmt.Errorf("build %s: %w", dir, err)
	}
	zip, err := os.ReadFile(zipPath)
	if err != nil {
		return nil, err
	}

	p, err := startProxy(ctx, "hello", proxyBin, zip, proxySpec{}, b.timeout)
	if err != nil {
		return nil, err
	}
	defer p.stop()

	url, stop, err := startStandalone(bctx, proxyBin, filepath.Join(tmp, "data"))
	if err != nil {
		return nil, err
	}
	defer stop()

	var dials atomic.Int64
	c := b.client(keepAlive, &dials)
	defer c.CloseIdleConnections()
	actionURL := url + "/api/v1/namespaces/_/actions/" + standaloneAction
	create, _ := json.Marshal(map[string]any{
		"exec":   map[string]any{"kind": "blackbox", "image": "epilogue/action-go:latest", "code": base64.StdEncoding.EncodeToString(zip)},
		"limits": map[string]any{"concurrency": 1},
	})
	if status, body, err := apiCall(ctx, c, http.MethodPut, actionURL+"?overwrite=true", create); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("create the action in the standalone: %d %s %v", status, clip(body), err)
	}

	runBody := runBodyFor([]byte(standaloneValue), "bench-standalone")
	want := []byte(standaloneResult)
	var buf bytes.Buffer
	timed := func(do func() (*http.Response, error)) (*http.Response, time.Duration, error) {
		t0 := time.Now()
		resp, err := do()
		if err != nil {
			return nil, 0, err
		}
		buf.Reset()
		_, err = buf.ReadFrom(resp.Body)
		d := time.Since(t0)
		_ = resp.Body.Close()
		return resp, d, err
	}
	post := func(u string, body []byte) func() (*http.Response, error) {
		return func() (*http.Response, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			if strings.HasPrefix(u, url) {
				req.SetBasicAuth(api.GuestUUID, api.GuestKey)
			}
			return c.Do(req)
		}
	}
	wantResult := func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK || !bytes.Equal(bytes.TrimSpace(buf.Bytes()), want) {
			return fmt.Errorf("status %d body %s, want 200 %s", resp.StatusCode, clip(buf.Bytes()), want)
		}
		return nil
	}

	type row struct {
		key, label, measures string
		step                 func() (time.Duration, error)
		samples              []time.Duration
		lr                   loopResult
	}
	rows := []*row{
		{key: "standalone_run_direct", label: "hello: /run on a proxy (direct), keep-alive", measures: "POST /run",
			step: func() (time.Duration, error) {
				resp, d, err := timed(post(p.base+"/run", runBody))
				if err != nil {
					return 0, err
				}
				return d, wantResult(resp)
			}},
		{key: "standalone_invoke_blocking", label: "hello: standalone blocking invoke, keep-alive", measures: "POST …/actions/hello?blocking=true&result=true",
			step: func() (time.Duration, error) {
				resp, d, err := timed(post(actionURL+"?blocking=true&result=true", []byte(standaloneValue)))
				if err != nil {
					return 0, err
				}
				return d, wantResult(resp)
			}},
		{key: "standalone_invoke_accept", label: "hello: standalone non-blocking accept, keep-alive", measures: "POST …/actions/hello (202)",
			step: func() (time.Duration, error) {
				resp, d, err := timed(post(actionURL, []byte(standaloneValue)))
				if err != nil {
					return 0, err
				}
				var acc struct {
					ActivationID string `json:"activationId"`
				}
				if resp.StatusCode != http.StatusAccepted || json.Unmarshal(buf.Bytes(), &acc) != nil || acc.ActivationID == "" {
					return 0, fmt.Errorf("status %d body %s, want 202 {\"activationId\":…}", resp.StatusCode, clip(buf.Bytes()))
				}
				// Not measured: the activation runs to its record before
				// the next request, so that none pile up.
				return d, awaitStored(ctx, c, url+"/api/v1/namespaces/_/activations/"+acc.ActivationID)
			}},
	}
	// Warm-up: each row's, which also starts the standalone's container.
	for _, r := range rows {
		lr, err := loop(ctx, b.warmup, 0, func() {}, func(int, bool) error { _, err := r.step(); return err })
		if err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", r.key, err)
		}
		if lr.fails.Warmup > 0 {
			return nil, fmt.Errorf("%s warm-up: %d requests failed: %v", r.key, lr.fails.Warmup, lr.fails.Examples)
		}
	}
	if block <= 0 || block > n {
		block = n
	}
	for round := 0; rows[0].lr.measured < n; round++ {
		k := min(block, n-rows[0].lr.measured)
		for j := range rows {
			r := rows[(round+j)%len(rows)]
			lr, err := loop(ctx, 0, k, func() {}, func(int, bool) error {
				d, err := r.step()
				if err == nil {
					r.samples = append(r.samples, d)
				}
				return err
			})
			r.lr.elapsed += lr.elapsed
			r.lr.measured += lr.measured
			r.lr.fails.Measured += lr.fails.Measured
			r.lr.fails.Examples = append(r.lr.fails.Examples, lr.fails.Examples...)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.key, err)
			}
		}
	}
	res := &standaloneBench{Action: dir, ActionBytes: len(zip), N: n, Warmup: b.warmup,
		Schedule:          fmt.Sprintf("interleaved: the three rows take turns in blocks of %d, the order rotating each round", block),
		GoalBlockingP50Ms: 2, GoalAcceptP50Ms: 1}
	mk := func(r *row) *modeResult {
		return &modeResult{Label: r.label, Target: "standalone", Tracking: "on", Connection: keepAlive, Measures: r.measures,
			Stats:          benchstat.Summarize(r.lr.measured, r.lr.fails.Measured, r.lr.elapsed, r.samples),
			WarmupRequests: b.warmup, ErrorExamples: r.lr.fails.Examples}
	}
	res.Run, res.Blocking, res.Accept = mk(rows[0]), mk(rows[1]), mk(rows[2])
	res.Run.Target = "proxy"
	res.AddedBlockingP50Ms = (res.Blocking.P50Us - res.Run.P50Us) / 1e3
	res.AddedBlockingP99Ms = (res.Blocking.P99Us - res.Run.P99Us) / 1e3
	res.AcceptP50Ms, res.AcceptP99Ms = res.Accept.P50Us/1e3, res.Accept.P99Us/1e3
	res.BlockingMet = res.AddedBlockingP50Ms <= res.GoalBlockingP50Ms
	res.AcceptMet = res.AcceptP50Ms <= res.GoalAcceptP50Ms
	return res, nil
}

// startStandalone runs standalone.Run in this process on a free loopback
// port, the process backend running proxyBin, with data in dataDir; stop
// shuts it down.
func startStandalone(ctx context.Context, proxyBin, dataDir string) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ready := make(chan string, 1)
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	cfg := standalone.Config{Listener: ln, DataDir: dataDir, Backend: standalone.BackendProcess, ProxyPath: proxyBin,
		ShutdownTimeout: 30 * time.Second, Ready: func(u string) { ready <- u }}
	go func() { done <- standalone.Run(sctx, cfg) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "bench: the standalone's shutdown:", err)
		}
	}
	select {
	case url = <-ready:
		return url, stop, nil
	case err := <-done:
		cancel()
		return "", nil, fmt.Errorf("the standalone did not start: %w", err)
	case <-ctx.Done():
		stop()
		return "", nil, fmt.Errorf("the standalone did not start: %w", ctx.Err())
	}
}

// apiCall makes one request to the standalone's API as the guest.
func apiCall(ctx context.Context, c *http.Client, method, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(api.GuestUUID, api.GuestKey)
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// awaitStored polls the activation record at url until it is stored.
func awaitStored(ctx context.Context, c *http.Client, url string) error {
	until := time.Now().Add(recordBound)
	for {
		status, body, err := apiCall(ctx, c, http.MethodGet, url, nil)
		switch {
		case err != nil:
			return err
		case status == http.StatusOK:
			return nil
		case status != http.StatusNotFound:
			return fmt.Errorf("GET the record: %d %s", status, clip(body))
		case time.Now().After(until):
			return errors.New("the accepted activation's record was not stored within " + recordBound.String())
		}
		time.Sleep(recordPoll)
	}
}

// printStandalone prints the section's rows and verdict.
func printStandalone(w io.Writer, s *standaloneBench) {
	fmt.Fprintf(w, "\nstandalone invoke path: %s (%d-byte zip), %d requests per row (+%d warm-up), %s\n",
		s.Action, s.ActionBytes, s.N, s.Warmup, s.Schedule)
	const lw = 52
	fmt.Fprintf(w, "%-*s %8s %6s %9s %9s %9s %9s\n", lw, "row", "requests", "errors", "p50", "p90", "p99", "max")
	for _, m := range []*modeResult{s.Run, s.Blocking, s.Accept} {
		fmt.Fprintf(w, "%-*s %8d %6d %9s %9s %9s %9s\n", lw, m.Label, m.Requests, m.Errors,
			benchstat.FormatMicros(m.P50Us), benchstat.FormatMicros(m.P90Us), benchstat.FormatMicros(m.P99Us), benchstat.FormatMicros(m.MaxUs))
	}
	fmt.Fprintf(w, "blocking invoke adds %+.2f ms at p50 (%+.2f ms at p99) to the direct /run: %s (goal ≤ %.0f ms at p50)\n",
		s.AddedBlockingP50Ms, s.AddedBlockingP99Ms, passFail(s.BlockingMet), s.GoalBlockingP50Ms)
	fmt.Fprintf(w, "non-blocking accept %.2f ms at p50 (%.2f ms at p99): %s (goal ≤ %.0f ms at p50)\n",
		s.AcceptP50Ms, s.AcceptP99Ms, passFail(s.AcceptMet), s.GoalAcceptP50Ms)
}

// standaloneSection runs the standalone section into rep, its warm-up
// capped: every row's warm-up request is a whole invoke.
func standaloneSection(ctx context.Context, rep *report, proxyBin, dir string, n, warmup, block int, timeout time.Duration) error {
	proxyAbs, err := filepath.Abs(proxyBin)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: standalone invoke path ...")
	b := &bencher{n: n, warmup: min(warmup, standaloneWarmup), timeout: timeout}
	s, err := b.benchStandalone(ctx, proxyAbs, dir, n, min(block, standaloneBlock))
	if err != nil {
		return fmt.Errorf("standalone: %w", err)
	}
	rep.Standalone = s
	for _, m := range []*modeResult{s.Run, s.Blocking, s.Accept} {
		rep.Errors += m.Errors
	}
	return nil
}

// startCPUProfile profiles this process into path until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
