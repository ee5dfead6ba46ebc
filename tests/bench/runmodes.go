package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
)

// runMode is one POST /run mode: a target (the floor server or a proxy of its
// own), a client for one connection mode, and what has been measured so far.
// The modes' measured requests are issued in blocks, interleaved (see
// runModes), by one goroutine: never two requests at once.
type runMode struct {
	key    string
	m      *modeResult
	url    string
	n      int        // measured requests
	val    []byte     // the value sent, which the action echoes
	phases []string   // X-Epilogue-Phase values a checked response may carry; nil = not checked
	proxy  *proxyProc // nil for the floor
	// await, if not nil, makes every request an activation of its own (a
	// distinct activation id) followed by GET /epilogue/await for it; the
	// samples are then run + await.
	await *awaitPart

	client *http.Client
	dials  atomic.Int64
	body   []byte
	want   []byte
	hdr    http.Header
	buf    bytes.Buffer

	samples  []time.Duration
	next     int // index of the next request, warm-up included
	measured int
	fails    benchstat.Failures
	elapsed  time.Duration // sum of the measured blocks' wall time
	cpu      cpuTotals
}

// cpuTotals accumulates CPU time over the measured blocks.
type cpuTotals struct {
	proxy, action, bench time.Duration
}

// awaitPart is what a run + await mode measures besides run + await.
type awaitPart struct {
	idPrefix string
	runs     []time.Duration // POST /run alone
	awaits   []time.Duration // GET /epilogue/await alone
	// postResponse is the done records' postResponseMs: response → done as
	// the proxy saw it (0 when the response frame already said done).
	postResponse []time.Duration
	// phaseAtRun counts the X-Epilogue-Phase of the measured /run responses.
	phaseAtRun map[string]int
	runRow     *modeResult // rows for the parts, filled in by finish
	awaitRow   *modeResult
}

// newRunMode prepares a mode of n measured requests whose action echoes val.
func (b *bencher) newRunMode(key, url, conn string, n int, val []byte, phases []string, p *proxyProc, m *modeResult) *runMode {
	r := &runMode{
		key: key, m: m, url: url, n: n, val: val, phases: phases, proxy: p,
		body:    runBodyFor(val, "b"),
		want:    append(append([]byte(nil), val...), '\n'),
		hdr:     http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}},
		samples: make([]time.Duration, 0, n),
	}
	r.client = b.client(conn, &r.dials)
	return r
}

// one issues the next request; measured says whether it counts.
func (r *runMode) one(ctx context.Context, measured bool) error {
	i := r.next
	r.next++
	full := i%checkEvery == 0
	body, id := r.body, ""
	if r.await != nil {
		id = fmt.Sprintf("%s-%07d", r.await.idPrefix, i)
		body = runBodyFor(r.val, id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = r.hdr.Clone()
	t0 := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	r.buf.Reset()
	_, err = r.buf.ReadFrom(resp.Body)
	lat := time.Since(t0)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the response: %w", err)
	}
	if err := checkRun(resp, r.buf.Bytes(), r.want, r.phases, full); err != nil {
		return err
	}
	if r.await == nil {
		if measured {
			r.samples = append(r.samples, lat)
		}
		return nil
	}
	if got := resp.Header.Get("X-Epilogue-Activation"); full && got != id {
		return fmt.Errorf("X-Epilogue-Activation %q, want %q", got, id)
	}
	phase := resp.Header.Get("X-Epilogue-Phase")
	alat, rec, err := awaitDone(ctx, r.client, r.proxy.base, id, &r.buf)
	if err != nil {
		return err
	}
	if len(rec.Errors) > 0 || rec.Error != "" {
		return fmt.Errorf("await: activation %s reported errors: %s %v", id, rec.Error, rec.Errors)
	}
	if measured {
		a := r.await
		a.runs = append(a.runs, lat)
		a.awaits = append(a.awaits, alat)
		// The checks between the two calls are not the client's wait, so
		// they are left out of run + await.
		r.samples = append(r.samples, lat+alat)
		a.postResponse = append(a.postResponse, time.Duration(rec.PostResponseMs*float64(time.Millisecond)))
		a.phaseAtRun[phase]++
	}
	return nil
}

// awaitRecord is the part of /epilogue/await's done record that is checked.
type awaitRecord struct {
	ID             string   `json:"id"`
	Phase          string   `json:"phase"`
	PostResponseMs float64  `json:"postResponseMs"`
	Error          string   `json:"error"`
	Errors         []string `json:"errors"`
}

// awaitDone issues GET /epilogue/await?activation=ID&timeout=5s and checks
// that it answers activation id's done record. lat is from just before the
// request is sent to the end of reading the response body.
func awaitDone(ctx context.Context, c *http.Client, base, id string, buf *bytes.Buffer) (lat time.Duration, rec awaitRecord, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+completion.AwaitPath+"?activation="+id+"&timeout=5s", nil)
	if err != nil {
		return 0, rec, err
	}
	req.Header = http.Header{"Accept": {"application/json"}}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, rec, fmt.Errorf("await: %w", err)
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	lat = time.Since(t0)
	_ = resp.Body.Close()
	if err != nil {
		return 0, rec, fmt.Errorf("reading the /epilogue/await response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, rec, fmt.Errorf("await: status %d: %s", resp.StatusCode, clip(buf.Bytes()))
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec.ID != id || rec.Phase != "done" {
		return 0, rec, fmt.Errorf("await: record %s (%v), want id %q phase done", clip(buf.Bytes()), err, id)
	}
	return lat, rec, nil
}

// block issues count requests in a row. Errors are counted; giveUpAfter of
// them in a row, or ctx's end, stop it with an error.
func (r *runMode) block(ctx context.Context, count int, measured bool) error {
	var m0 cpuTotals
	var t0 time.Time
	if measured {
		m0 = r.cpuNow()
		t0 = time.Now()
		defer func() {
			r.elapsed += time.Since(t0)
			m1 := r.cpuNow()
			r.cpu.proxy += m1.proxy - m0.proxy
			r.cpu.action += m1.action - m0.action
			r.cpu.bench += m1.bench - m0.bench
		}()
	}
	for k := 0; k < count; k++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if measured {
			r.measured++
		}
		err := r.one(ctx, measured)
		if err == nil {
			r.fails.OK()
			continue
		}
		if ctx.Err() != nil {
			if measured {
				r.measured-- // interrupted, not failed
			}
			return ctx.Err()
		}
		if err := r.fails.Add(measured, fmt.Sprintf("request %d", r.next-1), err, giveUpAfter); err != nil {
			return err
		}
	}
	return nil
}

func (r *runMode) cpuNow() cpuTotals {
	c := cpuTotals{bench: selfCPU()}
	if r.proxy != nil {
		c.proxy, c.action = r.proxy.cpu()
	}
	return c
}

// finish fills in r.m (and, for a run + await mode, its parts' rows) from
// what was measured.
func (r *runMode) finish(warmup int, complete bool) {
	m := r.m
	m.Stats = benchstat.Summarize(r.measured, r.fails.Measured, r.elapsed, r.samples)
	m.WarmupRequests, m.WarmupErrors, m.ErrorExamples = warmup, r.fails.Warmup, r.fails.Examples
	m.Dials = r.dials.Load()
	if complete && r.measured > 0 {
		n := float64(r.measured)
		m.CPU = &cpuUse{Bench: benchstat.Micros(r.cpu.bench) / n}
		if r.proxy != nil {
			m.CPU.Proxy = benchstat.Micros(r.cpu.proxy) / n
			m.CPU.Action = benchstat.Micros(r.cpu.action) / n
		}
	}
	if a := r.await; a != nil {
		m.Note = "requests are activations (one /run and one /epilogue/await each); req/s is activations per second"
		for _, part := range []struct {
			row     *modeResult
			samples []time.Duration
		}{{a.runRow, a.runs}, {a.awaitRow, a.awaits}} {
			part.row.Stats = benchstat.Summarize(r.measured, r.fails.Measured, 0, part.samples)
			part.row.WarmupRequests, part.row.WarmupErrors = warmup, r.fails.Warmup
			part.row.Dials = m.Dials
			part.row.Note = "latencies of one part of the run + await loop; its elapsed time and rate are the run + await row's"
		}
		m.PostResponse = ptr(benchstat.Summarize(len(a.postResponse), 0, 0, a.postResponse))
		m.PhaseAtRun = a.phaseAtRun
	}
	r.client.CloseIdleConnections()
}

func ptr[T any](v T) *T { return &v }

// runModes measures POST /run on the floor and on fresh proxies, one per
// mode: the fixture with tracking on and off, and, when sdkAction is not
// nil, the SDK action with tracking on and off and with one tracked sdk.Go
// per activation (run + await), each with its own n. Each mode gets its
// warm-up first; then, unless block is 0, the modes take turns in blocks of
// block requests (the order rotating every round; a mode whose n is reached
// sits the remaining rounds out), so that a change in the machine's load
// during the run hits every mode alike. block 0 runs each mode's n requests
// in one go, one mode after the other.
func (b *bencher) runModes(ctx context.Context, bin string, action, sdkAction []byte, sdkN, block int) ([]keyedMode, error) {
	var modes []*runMode
	var rows []keyedMode
	collect := func(complete bool) []keyedMode {
		rows = rows[:0]
		for _, r := range modes {
			r.finish(b.warmup, complete)
			if complete || r.measured > 0 {
				rows = append(rows, keyedMode{r.key, r.m})
				if r.await != nil {
					rows = append(rows, keyedMode{r.key + "_run_only", r.await.runRow}, keyedMode{r.key + "_await_only", r.await.awaitRow})
				}
			}
		}
		return rows
	}

	// The floor: a minimal net/http server in this process.
	answer := append(append([]byte(nil), value...), '\n')
	cl := []string{strconv.Itoa(len(answer))}
	ct := []string{"application/json"}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			h := w.Header()
			h["Content-Type"] = ct
			h["Content-Length"] = cl
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(answer)
		}),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	floorURL := "http://" + ln.Addr().String() + "/run"
	for _, conn := range []string{keepAlive, newConn} {
		m := &modeResult{Label: "HTTP floor (net/http in-process), " + conn, Target: "floor", Tracking: "n/a",
			Connection: conn, Measures: "POST /run"}
		modes = append(modes, b.newRunMode("floor_"+connKey(conn), floorURL, conn, b.n, value, nil, nil, m))
	}

	// One fresh proxy per proxy mode.
	type proxyMode struct {
		key, label, tracking, conn string
		action                     []byte
		n                          int
		val                        []byte
		phases                     []string
		spec                       proxySpec
		awaitEach                  bool
	}
	var specs []proxyMode
	for _, conn := range []string{keepAlive, newConn} {
		specs = append(specs,
			proxyMode{key: "tracking_on_" + connKey(conn), label: "proxy, tracking on (extended), " + conn, tracking: "on",
				conn: conn, action: action, n: b.n, val: value, phases: []string{"done"}},
			proxyMode{key: "tracking_off_" + connKey(conn), label: "proxy, tracking off (upstream mode), " + conn, tracking: "off",
				conn: conn, action: action, n: b.n, val: value, phases: []string{"done"}, spec: proxySpec{upstream: true}})
	}
	if sdkAction != nil {
		for _, conn := range []string{keepAlive, newConn} {
			specs = append(specs,
				proxyMode{key: "sdk_tracking_on_" + connKey(conn), label: "SDK action, tracking on, " + conn, tracking: "on",
					conn: conn, action: sdkAction, n: sdkN, val: value, phases: []string{"done"}},
				proxyMode{key: "sdk_tracking_off_" + connKey(conn), label: "SDK action, tracking off (no ack), " + conn, tracking: "off",
					conn: conn, action: sdkAction, n: sdkN, val: value, phases: []string{"done"}, spec: proxySpec{noAck: true}})
		}
		// The tracked piece may end before or after the response goes out.
		specs = append(specs, proxyMode{key: "sdk_work", label: "SDK + sdk.Go, run → done (run + await), keep-alive",
			tracking: "on", conn: keepAlive, action: sdkAction, n: sdkN, val: workValue,
			phases: []string{"responded", "done"}, awaitEach: true})
	}
	for _, spec := range specs {
		p, err := startProxy(ctx, strings.ReplaceAll(spec.key, "_", "-"), bin, spec.action, spec.spec, b.timeout)
		if err != nil {
			return collect(false), fmt.Errorf("%s: %w", spec.key, err)
		}
		defer p.stop()
		measures := "POST /run"
		if spec.awaitEach {
			measures = "POST /run + GET /epilogue/await"
		}
		m := &modeResult{Label: spec.label, Target: "proxy", Tracking: spec.tracking, Connection: spec.conn,
			Measures: measures, Protocol: p.protocol}
		r := b.newRunMode(spec.key, p.base+"/run", spec.conn, spec.n, spec.val, spec.phases, p, m)
		if spec.awaitEach {
			part := func(label, measures string) *modeResult {
				return &modeResult{Label: label, Target: "proxy", Tracking: spec.tracking, Connection: spec.conn,
					Measures: measures, Protocol: p.protocol, part: true}
			}
			r.await = &awaitPart{
				idPrefix:   "bench-" + strings.ReplaceAll(spec.key, "_", "-"),
				runs:       make([]time.Duration, 0, spec.n),
				awaits:     make([]time.Duration, 0, spec.n),
				phaseAtRun: map[string]int{},
				runRow:     part("SDK + sdk.Go, run alone, keep-alive", "POST /run (in the run + await loop)"),
				awaitRow:   part("SDK + sdk.Go, await alone, keep-alive", "GET /epilogue/await (in the run + await loop)"),
			}
		}
		modes = append(modes, r)
	}

	fail := func(r *runMode, err error) ([]keyedMode, error) {
		if r.proxy != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w; %s", err, r.proxy.stderrTail())
		}
		return collect(false), fmt.Errorf("%s: %w", r.key, err)
	}
	for _, r := range modes {
		if err := r.block(ctx, b.warmup, false); err != nil {
			return fail(r, err)
		}
		r.dials.Store(0)
	}
	for round := 0; ; round++ {
		left := false
		for k := range modes {
			r := modes[(k+round)%len(modes)]
			count := r.n - r.measured
			if block > 0 {
				count = min(count, block)
			}
			if count <= 0 {
				continue
			}
			left = true
			if err := r.block(ctx, count, true); err != nil {
				return fail(r, err)
			}
		}
		if !left {
			break
		}
	}
	return collect(true), nil
}

// connKey is the key suffix of a connection mode.
func connKey(conn string) string {
	if conn == keepAlive {
		return "keepalive"
	}
	return "newconn"
}
