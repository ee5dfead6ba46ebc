package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
	"github.com/epilogue-dev/epilogue/tests/otlpsink"
)

// runMode is one POST /run mode: a target (the floor server or a proxy of its
// own), a client for one connection mode, and what has been measured so far.
// The modes' measured requests are issued in blocks, interleaved (see
// runModes), by one goroutine: never two requests at once.
type runMode struct {
	key    string
	m      *modeResult
	url    string
	path   string     // the URL's path, for the one-connection client
	n      int        // measured requests
	val    []byte     // the value sent, which the action echoes
	phases []string   // X-Epilogue-Phase values a checked response may carry; nil = not checked
	proxy  *proxyProc // nil for the floor
	// await, if not nil, makes every request an activation of its own (a
	// distinct activation id) followed by GET /epilogue/await for it; the
	// samples are then run + await.
	await *awaitPart

	client *http.Client // keep-alive and new-connection modes
	raw    *rawClient   // the one-connection mode
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
	// rates are the measured blocks' requests per second, in round order:
	// the comparison with upstream pairs the blocks of one round.
	rates []float64
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
	if conn == oneConn || conn == invokerConn {
		u, err := neturl.Parse(url)
		if err == nil {
			r.raw = newRawClient(u.Host, b.timeout, &r.dials, conn == invokerConn)
		}
		r.path = u.Path
	} else {
		r.client = b.client(conn, &r.dials)
	}
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
	resp, respBody, lat, err := r.post(ctx, body)
	if err != nil {
		return err
	}
	if err := checkRun(resp, respBody, r.want, r.phases, full); err != nil {
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

// post sends one /run and reads its answer; lat is from just before the
// request is sent to the end of reading the answer.
func (r *runMode) post(ctx context.Context, body []byte) (*http.Response, []byte, time.Duration, error) {
	if r.raw != nil {
		t0 := time.Now()
		resp, respBody, err := r.raw.post(r.path, body)
		return resp, respBody, time.Since(t0), err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, 0, err
	}
	req.Header = r.hdr.Clone()
	t0 := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, 0, err
	}
	r.buf.Reset()
	_, err = r.buf.ReadFrom(resp.Body)
	lat := time.Since(t0)
	_ = resp.Body.Close()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("reading the response: %w", err)
	}
	return resp, r.buf.Bytes(), lat, nil
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
			d := time.Since(t0)
			r.elapsed += d
			r.rates = append(r.rates, float64(count)/d.Seconds())
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
	m.BlockRates = r.rates
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
	if r.client != nil {
		r.client.CloseIdleConnections()
	}
	if r.raw != nil {
		r.raw.close()
	}
}

func ptr[T any](v T) *T { return &v }

// target is one process measured in several connection modes: the floor,
// or a proxy with its action.
type target struct {
	key, label, tracking string
	action               []byte
	bin                  string // "" = the benchmark's proxy
	n                    int
	val                  []byte
	phases               []string // nil: X-Epilogue-Phase not checked (upstream sends none)
	spec                 proxySpec
	conns                []string
	awaitEach            bool
}

// runModes measures POST /run on the floor and on proxies: the fixture
// action with tracking on and off and, given upstream, upstream's proxy
// running the fixture as an upstream action; then, when sdkAction is not
// nil, the SDK action with tracking on and off, with one tracked sdk.Go per
// activation (run + await), and under upstream's proxy. Each target is one
// process serving all its connection modes. The two groups run one after
// the other (one upstream proxy at a time can have its port); within a
// group every mode gets its warm-up first, then, unless block is 0, the
// modes take turns in blocks of block requests (the order rotating every
// round; a mode whose n is reached sits the remaining rounds out), so that
// a change in the machine's load during the run hits every mode alike.
// block 0 runs each mode's n requests in one go, one after the other.
func (b *bencher) runModes(ctx context.Context, bin, upstream string, action, sdkAction []byte, sdkN, block int) ([]keyedMode, error) {
	var rows []keyedMode
	conns := allConns
	fixture := []target{
		{key: "tracking_on", label: "proxy, tracking on (extended)", tracking: "on", action: action, n: b.n, val: value, phases: []string{"done"}, conns: conns},
		{key: "tracking_off", label: "proxy, tracking off (upstream mode)", tracking: "off", action: action, n: b.n, val: value, phases: []string{"done"},
			spec: proxySpec{upstream: true}, conns: conns},
		// The baseline of busy polling's gain and cost: the same proxy
		// and action, sleeping until every answer comes.
		{key: "tracking_off_nopoll", label: "proxy, tracking off, busy polling off", tracking: "off", action: action, n: b.n, val: value, phases: []string{"done"},
			spec: proxySpec{upstream: true, noBusyPoll: true}, conns: []string{keepAlive, invokerConn}},
	}
	if upstream != "" {
		fixture = append(fixture, target{key: "upstream", label: "upstream proxy, fixture (upstream mode)", tracking: "n/a", action: action, bin: upstream,
			n: b.n, val: value, spec: proxySpec{upstream: true, foreign: true}, conns: conns})
	}
	rows, err := b.runGroup(ctx, bin, fixture, true, block, rows)
	if err != nil || sdkAction == nil {
		return rows, err
	}
	// Tracing's cost: the same SDK action, its proxy exporting every span
	// over OTLP/HTTP to a receiver in this process, interleaved with the
	// untraced modes.
	sink := otlpsink.New()
	defer sink.Close()
	sdk := []target{
		{key: "sdk_tracking_on", label: "SDK action, tracking on", tracking: "on", action: sdkAction, n: sdkN, val: value, phases: []string{"done"}, conns: conns},
		{key: "sdk_traced", label: "SDK action, tracking on, traced (OTLP/HTTP)", tracking: "on", action: sdkAction, n: sdkN, val: value,
			phases: []string{"done"}, spec: proxySpec{otlp: sink.URL}, conns: []string{keepAlive}},
		{key: "sdk_tracking_off", label: "SDK action, tracking off (no ack)", tracking: "off", action: sdkAction, n: sdkN, val: value, phases: []string{"done"},
			spec: proxySpec{noAck: true}, conns: []string{keepAlive, newConn}},
		// The tracked piece may end before or after the response goes out.
		{key: "sdk_work", label: "SDK + sdk.Go, run → done (run + await)", tracking: "on", action: sdkAction, n: sdkN, val: workValue,
			phases: []string{"responded", "done"}, conns: []string{keepAlive}, awaitEach: true},
	}
	if upstream != "" {
		sdk = append(sdk, target{key: "sdk_upstream", label: "upstream proxy, SDK action", tracking: "n/a", action: sdkAction, bin: upstream,
			n: sdkN, val: value, spec: proxySpec{foreign: true}, conns: conns})
	}
	return b.runGroup(ctx, bin, sdk, false, block, rows)
}

// runGroup measures one group of targets, interleaved, and appends its rows.
func (b *bencher) runGroup(ctx context.Context, bin string, targets []target, floor bool, block int, rows []keyedMode) ([]keyedMode, error) {
	var modes []*runMode
	collect := func(complete bool) []keyedMode {
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

	if floor {
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
			return rows, err
		}
		go func() { _ = srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		floorURL := "http://" + ln.Addr().String() + "/run"
		for _, conn := range b.selected(allConns) {
			m := &modeResult{Label: "HTTP floor (net/http in-process), " + conn, Target: "floor", Tracking: "n/a",
				Connection: conn, Measures: "POST /run"}
			modes = append(modes, b.newRunMode("floor_"+connKey(conn), floorURL, conn, b.n, value, nil, nil, m))
		}
	}

	for _, t := range targets {
		tbin := bin
		if t.bin != "" {
			tbin = t.bin
		}
		p, err := startProxy(ctx, strings.ReplaceAll(t.key, "_", "-"), tbin, t.action, t.spec, b.timeout)
		if err != nil {
			return collect(false), fmt.Errorf("%s: %w", t.key, err)
		}
		defer p.stop()
		for _, conn := range b.selected(t.conns) {
			key, label, measures := t.key+"_"+connKey(conn), t.label+", "+conn, "POST /run"
			if t.awaitEach {
				key, measures = t.key, "POST /run + GET /epilogue/await"
			}
			m := &modeResult{Label: label, Target: "proxy", Tracking: t.tracking, Connection: conn,
				Measures: measures, Protocol: p.protocol}
			if t.spec.foreign {
				m.Target = "upstream proxy"
			}
			r := b.newRunMode(key, p.base+"/run", conn, t.n, t.val, t.phases, p, m)
			if t.awaitEach {
				part := func(label, measures string) *modeResult {
					return &modeResult{Label: label, Target: "proxy", Tracking: t.tracking, Connection: conn,
						Measures: measures, Protocol: p.protocol, part: true}
				}
				r.await = &awaitPart{
					idPrefix:   "bench-" + strings.ReplaceAll(t.key, "_", "-"),
					runs:       make([]time.Duration, 0, t.n),
					awaits:     make([]time.Duration, 0, t.n),
					phaseAtRun: map[string]int{},
					runRow:     part("SDK + sdk.Go, run alone, keep-alive", "POST /run (in the run + await loop)"),
					awaitRow:   part("SDK + sdk.Go, await alone, keep-alive", "GET /epilogue/await (in the run + await loop)"),
				}
			}
			modes = append(modes, r)
		}
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
	switch conn {
	case keepAlive:
		return "keepalive"
	case oneConn:
		return "oneconn"
	case invokerConn:
		return "invokerconn"
	}
	return "newconn"
}
