package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// runMode is one POST /run mode: a target (the floor server or a proxy of its
// own), a client for one connection mode, and what has been measured so far.
// The modes' measured requests are issued in blocks, interleaved (see
// runModes), by one goroutine: never two requests at once.
type runMode struct {
	key       string
	m         *modeResult
	url       string
	wantPhase string     // X-Epilogue-Phase every checked response must carry; "" = none
	proxy     *proxyProc // nil for the floor

	client *http.Client
	dials  atomic.Int64
	body   []byte
	want   []byte
	hdr    http.Header
	buf    bytes.Buffer

	samples     []time.Duration
	next        int // index of the next request, warm-up included
	measured    int
	errs        int
	warmupErrs  int
	consecutive int
	examples    []string
	elapsed     time.Duration // sum of the measured blocks' wall time
	cpu         cpuTotals
}

// cpuTotals accumulates CPU time over the measured blocks.
type cpuTotals struct {
	proxy, action, bench time.Duration
}

func (b *bencher) newRunMode(key, url, conn, wantPhase string, p *proxyProc, m *modeResult) *runMode {
	r := &runMode{
		key: key, m: m, url: url, wantPhase: wantPhase, proxy: p,
		body:    runBody("b"),
		want:    append(append([]byte(nil), value...), '\n'),
		hdr:     http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}},
		samples: make([]time.Duration, 0, b.n),
	}
	r.client = b.client(conn, &r.dials)
	return r
}

// one issues the next request; measured says whether it counts.
func (r *runMode) one(ctx context.Context, measured bool) error {
	i := r.next
	r.next++
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
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
	if err := checkRun(resp, r.buf.Bytes(), r.want, r.wantPhase, i%checkEvery == 0); err != nil {
		return err
	}
	if measured {
		r.samples = append(r.samples, lat)
	}
	return nil
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
			r.consecutive = 0
			continue
		}
		if ctx.Err() != nil {
			if measured {
				r.measured-- // interrupted, not failed
			}
			return ctx.Err()
		}
		r.consecutive++
		if measured {
			r.errs++
		} else {
			r.warmupErrs++
		}
		if len(r.examples) < 5 {
			r.examples = append(r.examples, fmt.Sprintf("request %d: %v", r.next-1, err))
		}
		if r.consecutive >= giveUpAfter {
			return fmt.Errorf("%d errors in a row, the last: %v", r.consecutive, err)
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

// finish fills in r.m from what was measured.
func (r *runMode) finish(warmup int, complete bool) {
	m := r.m
	m.Stats = summarize(r.measured, r.errs, r.elapsed, r.samples)
	m.WarmupRequests, m.WarmupErrors, m.ErrorExamples = warmup, r.warmupErrs, r.examples
	m.Dials = r.dials.Load()
	if complete && r.measured > 0 {
		n := float64(r.measured)
		m.CPU = &cpuUse{Bench: us(r.cpu.bench) / n}
		if r.proxy != nil {
			m.CPU.Proxy = us(r.cpu.proxy) / n
			m.CPU.Action = us(r.cpu.action) / n
		}
	}
	r.client.CloseIdleConnections()
}

// runModes measures POST /run on the floor and on four fresh proxies
// (tracking on and off, keep-alive and new connection). Each mode gets its
// warm-up first; then, unless block is 0, the modes take turns in blocks of
// block requests (the order rotating every round), so that a change in the
// machine's load during the run hits every mode alike. block 0 runs each
// mode's n requests in one go, one mode after the other.
func (b *bencher) runModes(ctx context.Context, bin string, action []byte, block int) ([]keyedMode, error) {
	var modes []*runMode
	var rows []keyedMode
	collect := func(complete bool) []keyedMode {
		rows = rows[:0]
		for _, r := range modes {
			r.finish(b.warmup, complete)
			if complete || r.measured > 0 {
				rows = append(rows, keyedMode{r.key, r.m})
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
		modes = append(modes, b.newRunMode("floor_"+connKey(conn), floorURL, conn, "", nil, m))
	}

	// One fresh proxy per proxy mode.
	for _, spec := range []struct {
		tracking bool
		conn     string
	}{{true, keepAlive}, {false, keepAlive}, {true, newConn}, {false, newConn}} {
		name, label := "off", "proxy, tracking off (upstream mode), "
		if spec.tracking {
			name, label = "on", "proxy, tracking on (extended), "
		}
		key := "tracking_" + name + "_" + connKey(spec.conn)
		p, err := startProxy(ctx, "tracking-"+name+"-"+connKey(spec.conn), bin, action, !spec.tracking, b.timeout)
		if err != nil {
			return collect(false), fmt.Errorf("%s: %w", key, err)
		}
		defer p.stop()
		m := &modeResult{Label: label + spec.conn, Target: "proxy", Tracking: name, Connection: spec.conn,
			Measures: "POST /run", Protocol: p.protocol}
		modes = append(modes, b.newRunMode(key, p.base+"/run", spec.conn, "done", p, m))
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
	if block <= 0 || block > b.n {
		block = b.n
	}
	for round := 0; round*block < b.n; round++ {
		count := min(block, b.n-round*block)
		for k := range modes {
			r := modes[(k+round)%len(modes)]
			if err := r.block(ctx, count, true); err != nil {
				return fail(r, err)
			}
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
