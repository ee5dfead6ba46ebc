// Command bench measures epilogue-proxy's per-activation overhead the way
// the OpenWhisk invoker drives a container: one client issuing requests
// strictly sequentially, over loopback, on this machine.
//
//	go run ./tests/bench -proxy bin/epilogue-proxy -action out/bench/exec [-sdk-action out/bench/sdkexec] \
//		-json out/bench/proxy.json [-short] [-n N] [-sdk-n N]
//
// It follows the method upstream's throughput was first measured with:
// POST /run with the body
//
//	{"value":{"name":"bench","quiet":true},"activation_id":"b","namespace":"ns","action_name":"/ns/a","deadline":"0"}
//
// ("quiet" keeps the fixture action from logging), a 5 s timeout on every
// HTTP call, latency from just before the request is sent to the end of
// reading the response body, percentiles at index ⌊(n−1)·p⌋ of the sorted
// samples, and two connection modes: keep-alive (http.DefaultTransport's
// settings with MaxIdleConnsPerHost 256) and a new TCP connection per request
// (DisableKeepAlives, as the invoker's ApacheBlockingContainerClient).
// Every mode starts with 500 warm-up requests that are not counted.
//
// This machine may be shared, so by default the POST /run modes below (six,
// eleven with -sdk-action) are interleaved: all their targets are started
// first, each gets its warm-up, then the modes take turns in blocks of 1000
// requests (-block), the order rotating every round, so that a change in the
// machine's load during the run hits every mode alike. A mode's elapsed time
// is the sum of its blocks. Requests are still issued one at a time by one
// goroutine; -block 0 runs the modes one after the other instead.
//
// Modes, each n requests (default 20000; -short: 2000):
//
//   - floor: a minimal net/http server inside this process that reads the
//     body and answers the same small JSON: the cost of HTTP over loopback
//     (a lower bound: a server in another process also pays cross-process
//     wake-ups, which the proxy does);
//   - tracking on: a fresh proxy (OW_WAIT_FOR_ACK=1) running the fixture
//     action tests/testaction, which then speaks the Epilogue extension, so
//     every activation is tracked until done;
//   - tracking off: the same, with TESTACTION_UPSTREAM=1 in the /init env, so
//     the fixture behaves like an unmodified upstream ActionLoop executable;
//   - await: a fresh tracking-on proxy; for each activation (a distinct
//     activation_id) POST /run, then GET /epilogue/await?activation=ID&timeout=5s
//     with nothing pending, keep-alive: the await alone and run + await (after
//     the interleaved modes, not interleaved).
//
// With -sdk-action (tests/bench/sdkaction, an action written with package sdk
// that echoes its input), the SDK's completion-tracking measurement, interleaved with the above
// (-sdk-n requests each, default -n):
//
//   - SDK tracking on: a proxy with OW_WAIT_FOR_ACK=1; the SDK acks with the
//     extension (/epilogue/status must say "epilogue/1"), so every activation
//     sends a response frame (done at once) and runs the SDK's
//     untracked-goroutine check; keep-alive and new-connection;
//   - SDK traced: tracking on, and the proxy traces every activation to an
//     OTLP/HTTP receiver in the benchmark (OTEL_EXPORTER_OTLP_ENDPOINT; every
//     other mode runs with the OTEL_* variables removed, i.e. tracing off);
//     keep-alive; the ratio to SDK tracking on is tracing's cost on /run;
//   - SDK tracking off: the same binary under a proxy started without
//     OW_WAIT_FOR_ACK; the SDK then speaks the plain upstream protocol (the
//     status must say "actionloop"): done at the response, nothing tracked;
//   - SDK + sdk.Go: tracking on, the value {"name":"bench","quiet":true,"work":true},
//     which makes the handler start one tracked sdk.Go that returns nil at
//     once, so the response frame lists it pending and a done frame follows;
//     as in the await mode, each activation (a distinct id) is POST /run, then
//     GET /epilogue/await for it, keep-alive: run alone, await alone, and
//     run → done (run + await), plus the done records' postResponseMs.
//
// The verdict (table and "sdkTracking" in the JSON) is on the p50 of tracking
// on − off, in both connection modes, against the target of 200 µs added per
// activation.
//
// Init memory (last; "initMemory" in the JSON; -init-archive-mib 0 skips
// it): a fresh proxy is sent POST /init of a 47 MiB zip (the fixture action
// as exec, plus a stored file of random bytes), about 63 MiB of base64, and
// its peak RSS (VmHWM in /proc/PID/status) is judged against 1.5 × the
// archive + 20 MiB, what leaves an action near OpenWhisk's 48 MB code limit
// room to run in a 256 MB container.
//
// Every proxy runs in its own temp dir with its output in files there, and is
// stopped (SIGTERM, then SIGKILL after 5 s) when the benchmark is done with
// it, on error and on ^C.
// Every /run response must be 200 with the echoed value as its body (checked
// byte for byte on every response, and decoded with its headers on every
// 100th); anything else counts as an error, and the exit status is 1.
//
// With -upstream PATH (upstream's proxy, built from a checkout of
// apache/openwhisk-runtime-go with `go build ./main`), the whole benchmark
// runs in a private network namespace (upstream's proxy listens only on
// :8080; see upstream.go), and upstream's proxy joins each group as one more
// target: the fixture as an upstream action, and the SDK action (which then
// speaks the upstream protocol). The comparison ("upstream" in the JSON)
// pairs each of our modes with upstream's in the same connection mode, from
// the same interleaved rounds: the throughput ratio, its per-round min,
// median and max, and the p50 and p99 ratios, judged against 1.2× with p99
// no worse. Upstream's /init of the same 47 MiB archive is measured too.
//
// The standalone section (last; "standalone" in the JSON; see
// standalone.go and docs/performance.md): examples/hello built with
// actionbuild, `epilogue standalone` run in this process on a temp data
// dir with the process backend, and a proxy of its own running the same
// zip; warm blocking invokes, non-blocking accepts and direct /runs take
// turns in blocks, and the table reports what the invoke adds at p50 and
// p99 against issue 14's goals (-standalone-n, -standalone-only,
// -standalone-action "" skips it).
//
// The output is a table, ratios (tracking on vs off, busy polling on vs
// off, proxy vs HTTP floor, and ours vs upstream when given), and a JSON
// file with the same numbers and the machine's description.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
)

const (
	defaultN = 20000
	shortN   = 2000
	// The standalone rows cost tens of ms each on a busy machine.
	defaultStandaloneN = 2000
	shortStandaloneN   = 200
	// checkEvery: every this many responses are decoded and checked in full.
	checkEvery = 100
	// giveUpAfter consecutive errors end a mode: the target is broken.
	giveUpAfter = 50
)

// value is what /run sends and the action echoes.
var value = []byte(`{"name":"bench","quiet":true}`)

// workValue makes the SDK action start one tracked sdk.Go. The SDK action
// echoes its input re-encoded (keys sorted, compact): these are already so.
var workValue = []byte(`{"name":"bench","quiet":true,"work":true}`)

// runBody is the /run body the invoker sends (plus "quiet") for activation id.
func runBody(id string) []byte { return runBodyFor(value, id) }

// runBodyFor is runBody with val as the value.
func runBodyFor(val []byte, id string) []byte {
	idJSON, _ := json.Marshal(id)
	return []byte(`{"value":` + string(val) + `,"activation_id":` + string(idJSON) + `,"namespace":"ns","action_name":"/ns/a","deadline":"0"}`)
}

// sdkTargetMicros is the budget for completion tracking: at most this
// much added per activation (p50, tracking on − off, the same SDK action).
const sdkTargetMicros = 200

// Connection modes.
const (
	keepAlive = "keep-alive"
	newConn   = "new-connection"
	// oneConn is a one-connection load loop, as wrk -c1: one kept-alive
	// connection, prepared request bytes, a minimal reader (rawClient).
	oneConn = "one-connection"
	// invokerConn is a new connection per request as the invoker opens
	// them (ApacheBlockingContainerClient, NoConnectionReuseStrategy): the
	// request asks for keep-alive, and the client closes the connection
	// once it has read the answer; prepared bytes, a minimal reader
	// (rawClient), so that the client's own cost dilutes the servers'
	// difference as little as it can.
	invokerConn = "new-connection (invoker-style)"
)

// allConns are the connection modes in the order the tables show them.
var allConns = []string{keepAlive, newConn, invokerConn, oneConn}

// modeResult is one row of the table.
type modeResult struct {
	Label string `json:"label"`
	// Target is "floor" (net/http server in this process) or "proxy".
	Target string `json:"target"`
	// Tracking is "on" (extended action), "off" (upstream-mode action) or "n/a".
	Tracking   string `json:"tracking"`
	Connection string `json:"connection"`
	// Measures says which interval the latencies are.
	Measures string `json:"measures"`
	// Protocol is what /epilogue/status reported after /init.
	Protocol string `json:"protocol,omitempty"`
	benchstat.Stats
	WarmupRequests int `json:"warmup_requests"`
	WarmupErrors   int `json:"warmup_errors"`
	// Dials counts the TCP connections the client opened in the measured phase.
	Dials         int64    `json:"dials"`
	ErrorExamples []string `json:"error_examples,omitempty"`
	// CPU is the CPU time per measured request, in µs.
	CPU *cpuUse `json:"cpu_us_per_request,omitempty"`
	// Note explains a row whose elapsed and req/s are not its own.
	Note string `json:"note,omitempty"`
	// BlockRates are the measured blocks' requests per second, in round
	// order (the interleaved schedule's rounds).
	BlockRates []float64 `json:"block_req_per_s,omitempty"`
	// PostResponse (run + await modes) is the distribution of the done
	// records' postResponseMs: response → done as the proxy saw it, 0 when
	// the response already said done.
	PostResponse *benchstat.Stats `json:"post_response,omitempty"`
	// PhaseAtRun (run + await modes) counts the X-Epilogue-Phase of the
	// measured /run responses: "done" when the tracked work had ended before
	// the response went out, "responded" when a done frame followed.
	PhaseAtRun map[string]int `json:"phase_at_run,omitempty"`
	// part marks a row that is one part of another row's loop: its errors
	// are that row's, so they are not counted again.
	part bool
}

type cpuUse struct {
	Proxy  float64 `json:"proxy"`
	Action float64 `json:"action"`
	// Bench is this process: the client, plus the server for the floor.
	Bench float64 `json:"bench_process"`
}

type benchConfig struct {
	N              int      `json:"n"`
	Warmup         int      `json:"warmup"`
	TimeoutS       float64  `json:"timeout_s"`
	RunBody        string   `json:"run_body"`
	Proxy          string   `json:"proxy"`
	ProxyVersion   string   `json:"proxy_version,omitempty"`
	Action         string   `json:"action"`
	ActionBytes    int      `json:"action_bytes"`
	Client         string   `json:"client"`
	SDKAction      string   `json:"sdk_action,omitempty"`
	SDKActionBytes int      `json:"sdk_action_bytes,omitempty"`
	SDKN           int      `json:"sdk_n,omitempty"`
	Block          int      `json:"block"`
	Schedule       string   `json:"schedule"`
	Order          []string `json:"order"`
}

type report struct {
	Machine benchstat.Machine      `json:"machine"`
	Config  benchConfig            `json:"config"`
	Modes   map[string]*modeResult `json:"modes"`
	Ratios  map[string]any         `json:"ratios"`
	// Upstream compares with upstream's proxy, when given.
	Upstream *upstreamVerdict `json:"upstream,omitempty"`
	// SDKTracking is the SDK's completion-tracking measurement, when the SDK action was given.
	SDKTracking *sdkTracking `json:"sdkTracking,omitempty"`
	// Durable is the durable tasks' response cost against sdk.Go and their
	// checkpoint latency, when the SDK action was given.
	Durable *durableBench `json:"durable,omitempty"`
	// InitMemory is the proxy's peak memory during a large /init.
	InitMemory *initMemory `json:"initMemory,omitempty"`
	// Standalone is the standalone's invoke path beside a direct /run.
	Standalone *standaloneBench `json:"standalone,omitempty"`
	Errors     int              `json:"errors"`
}

func main() {
	os.Exit(run())
}

func run() int {
	proxyBin := flag.String("proxy", "bin/epilogue-proxy", "the epilogue-proxy binary")
	actionBin := flag.String("action", "out/bench/exec", "the fixture action executable (CGO_ENABLED=0 go build ./tests/testaction)")
	jsonPath := flag.String("json", "out/bench/proxy.json", "where to write the results as JSON")
	n := flag.Int("n", defaultN, "measured requests per mode")
	short := flag.Bool("short", false, fmt.Sprintf("%d requests per mode (unless -n is given)", shortN))
	warmup := flag.Int("warmup", 500, "warm-up requests per mode, not counted")
	timeout := flag.Duration("timeout", 5*time.Second, "timeout of every HTTP call")
	block := flag.Int("block", 1000, "the /run modes take turns in blocks of this many requests; 0 = one mode after the other")
	sdkActionBin := flag.String("sdk-action", "", "the SDK benchmark action executable (CGO_ENABLED=0 go build ./tests/bench/sdkaction); \"\" = no SDK modes")
	sdkN := flag.Int("sdk-n", 0, "measured requests per SDK mode; 0 = the same as -n")
	initMiB := flag.Int("init-archive-mib", initMemArchiveMiB, "the archive size of the init memory section, in MiB; 0 = skip it")
	hello := flag.String("standalone-action", "examples/hello", "the action directory the standalone section builds (actionbuild) and invokes; \"\" = skip the section")
	standaloneN := flag.Int("standalone-n", defaultStandaloneN, fmt.Sprintf("measured requests per standalone row (-short: %d unless given)", shortStandaloneN))
	standaloneOnly := flag.Bool("standalone-only", false, "run only the standalone section")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile (the client, and the standalone that runs in it) to this file")
	conns := flag.String("conns", "", "measure the /run modes of only these connection modes, comma-separated ("+strings.Join(allConns, ", ")+"); \"\" = all")
	upstream := flag.String("upstream", "", "upstream's proxy (go build ./main in a checkout of apache/openwhisk-runtime-go), measured beside ours in a private network namespace; \"\" = ours only")
	flag.Parse()
	nSet := false
	flag.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
	standaloneNSet := false
	flag.Visit(func(f *flag.Flag) { standaloneNSet = standaloneNSet || f.Name == "standalone-n" })
	if *short && !nSet {
		*n = shortN
	}
	if *short && !standaloneNSet {
		*standaloneN = shortStandaloneN
	}
	if *sdkN == 0 {
		*sdkN = *n
	}
	if *n < 1 || *warmup < 0 || *sdkN < 1 || *initMiB < 0 || *standaloneN < 1 {
		fmt.Fprintln(os.Stderr, "bench: -n, -sdk-n and -standalone-n must be at least 1, -warmup and -init-archive-mib not negative")
		return 2
	}

	if *upstream != "" {
		if !inPrivateNetns() {
			return reexecInNetns()
		}
		if err := loopbackUp(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer stopProfile()
	}
	var rep *report
	var err error
	if *standaloneOnly {
		rep = &report{Machine: benchstat.DescribeMachine(), Modes: map[string]*modeResult{}}
	} else {
		var only []string
		if only, err = parseConns(*conns); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
		rep, err = benchAll(ctx, *proxyBin, *actionBin, *sdkActionBin, *upstream, *n, *sdkN, *warmup, *block, *initMiB, *timeout, only)
	}
	if err == nil && *hello != "" {
		err = standaloneSection(ctx, rep, *proxyBin, *hello, *standaloneN, *warmup, *block, *timeout)
	}
	switch {
	case *standaloneOnly && rep.Standalone != nil:
		rep.Machine.LoadAvgEnd = benchstat.LoadAvg()
		printStandalone(os.Stdout, rep.Standalone)
	case !*standaloneOnly && rep != nil:
		printReport(os.Stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if err := benchstat.WriteJSON(*jsonPath, rep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Printf("\nresults written to %s\n", *jsonPath)
	if rep.Errors > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d requests failed\n", rep.Errors)
		return 1
	}
	return 0
}

// benchAll runs every mode in turn. On error it returns what it has so far.
func benchAll(ctx context.Context, proxyBin, actionBin, sdkActionBin, upstream string, n, sdkN, warmup, block, initMiB int, timeout time.Duration, conns []string) (*report, error) {
	proxyAbs, err := filepath.Abs(proxyBin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(proxyAbs); err != nil {
		return nil, fmt.Errorf("%w (run make build)", err)
	}
	if upstream != "" {
		if upstream, err = filepath.Abs(upstream); err != nil {
			return nil, err
		}
		if _, err := os.Stat(upstream); err != nil {
			return nil, fmt.Errorf("%w (build upstream's proxy as the README's Performance section says)", err)
		}
	}
	action, err := os.ReadFile(actionBin)
	if err != nil {
		return nil, fmt.Errorf("%w (run CGO_ENABLED=0 go build -o %s ./tests/testaction)", err, actionBin)
	}
	var sdkAction []byte
	if sdkActionBin != "" {
		if sdkAction, err = os.ReadFile(sdkActionBin); err != nil {
			return nil, fmt.Errorf("%w (run CGO_ENABLED=0 go build -o %s ./tests/bench/sdkaction)", err, sdkActionBin)
		}
	}
	rep := &report{
		Machine: benchstat.DescribeMachine(),
		Config: benchConfig{
			N: n, Warmup: warmup, TimeoutS: timeout.Seconds(), RunBody: string(runBody("b")),
			Proxy: proxyBin, ProxyVersion: proxyVersion(ctx, proxyAbs), Action: actionBin, ActionBytes: len(action),
			Client: "one goroutine, strictly sequential; net/http client with http.DefaultTransport's settings (no proxy); " +
				"keep-alive: MaxIdleConnsPerHost 256; new-connection: DisableKeepAlives (Connection: close); " +
				"new-connection (invoker-style): prepared request bytes on a new connection per request asking for keep-alive, a minimal reader, closed by the client after the answer; " +
				"one-connection: prepared request bytes on one kept-alive connection, a minimal reader",
		},
		Modes: map[string]*modeResult{},
	}
	if sdkAction != nil {
		rep.Config.SDKAction, rep.Config.SDKActionBytes, rep.Config.SDKN = sdkActionBin, len(sdkAction), sdkN
	}
	b := &bencher{n: n, warmup: warmup, timeout: timeout, conns: conns}

	sched := "interleaved: after its warm-up, the /run modes take turns in blocks of " + strconv.Itoa(block) +
		" requests, the order rotating each round; elapsed and req/s are the sums over a mode's blocks"
	if block <= 0 || (block >= n && (sdkAction == nil || block >= sdkN)) {
		sched = "sequential: each /run mode's warm-up and n requests in one go, one mode after the other"
	}
	rep.Config.Block, rep.Config.Schedule = block, sched
	fmt.Fprintf(os.Stderr, "bench: POST /run modes (%s) ...\n", strings.SplitN(sched, ":", 2)[0])
	rows, err := b.runModes(ctx, proxyAbs, upstream, action, sdkAction, sdkN, block)
	for _, r := range rows {
		rep.Modes[r.key] = r.m
		rep.Config.Order = append(rep.Config.Order, r.key)
	}
	if err != nil {
		return rep, err
	}
	fmt.Fprintln(os.Stderr, "bench: await ...")
	rows, err = b.await(ctx, proxyAbs, action)
	for _, r := range rows {
		rep.Modes[r.key] = r.m
		rep.Config.Order = append(rep.Config.Order, r.key)
	}
	if err != nil {
		return rep, fmt.Errorf("await: %w", err)
	}
	if sdkAction != nil {
		fmt.Fprintln(os.Stderr, "bench: durable tasks ...")
		rep.Durable, rows, err = b.durableModes(ctx, proxyAbs, sdkAction, sdkN, block)
		for _, r := range rows {
			rep.Modes[r.key] = r.m
			rep.Config.Order = append(rep.Config.Order, r.key)
		}
		if err != nil {
			return rep, fmt.Errorf("durable tasks: %w", err)
		}
	}
	rep.Machine.LoadAvgEnd = benchstat.LoadAvg()
	for _, m := range rep.Modes {
		if !m.part {
			rep.Errors += m.Errors
		}
	}
	rep.Ratios = ratios(rep.Modes)
	if upstream != "" {
		rep.Upstream = &upstreamVerdict{Criterion: upstreamCriterion, Binary: upstream, Version: proxyVersion(ctx, upstream),
			Pairs: compareUpstream(rep.Modes), Pass: true}
		for _, p := range rep.Upstream.Pairs {
			rep.Upstream.Pass = rep.Upstream.Pass && p.Pass
		}
	}
	if sdkAction != nil {
		rep.SDKTracking = sdkVerdict(rep.Modes)
	}
	if initMiB > 0 {
		fmt.Fprintln(os.Stderr, "bench: init memory ...")
		rep.InitMemory, err = b.initMemory(ctx, proxyAbs, action, initMiB, proxySpec{})
		if err != nil {
			return rep, fmt.Errorf("init memory: %w", err)
		}
		if upstream != "" {
			rep.Upstream.InitMemory, err = b.initMemory(ctx, upstream, action, initMiB, proxySpec{foreign: true})
			if err != nil {
				return rep, fmt.Errorf("upstream's init memory: %w", err)
			}
		}
	}
	return rep, nil
}

// bencher holds the settings shared by every mode.
type bencher struct {
	n, warmup int
	timeout   time.Duration
	conns     []string // the /run modes' connection modes to measure; nil = all
}

// selected returns the connection modes of conns that b measures.
func (b *bencher) selected(conns []string) []string {
	if b.conns == nil {
		return conns
	}
	var out []string
	for _, c := range conns {
		if slices.Contains(b.conns, c) {
			out = append(out, c)
		}
	}
	return out
}

// parseConns reads -conns: connection modes, comma-separated.
func parseConns(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, c := range strings.Split(v, ",") {
		c = strings.TrimSpace(c)
		if !slices.Contains(allConns, c) {
			return nil, fmt.Errorf("-conns: unknown connection mode %q: use %s", c, strings.Join(allConns, ", "))
		}
		out = append(out, c)
	}
	return out, nil
}

// client returns a client for conn mode, counting the connections it dials.
func (b *bencher) client(mode string, dials *atomic.Int64) *http.Client {
	d := &net.Dialer{Timeout: b.timeout, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // never proxied; loopback is not proxied anyway
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}
	if mode == keepAlive {
		tr.MaxIdleConnsPerHost = 256
	} else {
		tr.DisableKeepAlives = true
	}
	return &http.Client{Timeout: b.timeout, Transport: tr}
}

// checkRun checks one /run response: 200 and the echoed value, byte for
// byte; in full, also the decoded JSON, Content-Length and the phase header
// (one of phases; nil = not checked).
func checkRun(resp *http.Response, body, want []byte, phases []string, full bool) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, clip(body))
	}
	if !bytes.Equal(body, want) {
		return fmt.Errorf("body %s, want the echoed value %s", clip(body), bytes.TrimSpace(want))
	}
	if !full {
		return nil
	}
	var got, exp any
	if err := json.Unmarshal(body, &got); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	_ = json.Unmarshal(want, &exp)
	if !reflect.DeepEqual(got, exp) {
		return fmt.Errorf("body decodes to %v, want %v", got, exp)
	}
	if resp.ContentLength != int64(len(body)) {
		return fmt.Errorf("Content-Length %d for a %d-byte body", resp.ContentLength, len(body))
	}
	if got := resp.Header.Get("X-Epilogue-Phase"); phases != nil && !slices.Contains(phases, got) {
		return fmt.Errorf("X-Epilogue-Phase %q, want one of %q", got, phases)
	}
	return nil
}

type keyedMode struct {
	key string
	m   *modeResult
}

// await measures GET /epilogue/await for activations with nothing pending:
// for each of warmup+n distinct activation ids, POST /run, then GET
// /epilogue/await?activation=ID&timeout=5s, keep-alive, on a fresh
// tracking-on proxy.
func (b *bencher) await(ctx context.Context, bin string, action []byte) ([]keyedMode, error) {
	p, err := startProxy(ctx, "await", bin, action, proxySpec{}, b.timeout)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	var dials atomic.Int64
	c := b.client(keepAlive, &dials)
	defer c.CloseIdleConnections()
	want := append(append([]byte(nil), value...), '\n')
	runs := make([]time.Duration, 0, b.n)
	awaits := make([]time.Duration, 0, b.n)
	both := make([]time.Duration, 0, b.n)
	var buf bytes.Buffer
	hdr := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}

	step := func(i int, measured bool) error {
		id := fmt.Sprintf("bench-await-%07d", i)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/run", bytes.NewReader(runBody(id)))
		if err != nil {
			return err
		}
		req.Header = hdr.Clone()
		full := i%checkEvery == 0

		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		buf.Reset()
		_, err = buf.ReadFrom(resp.Body)
		t1 := time.Now()
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading the /run response: %w", err)
		}
		if err := checkRun(resp, buf.Bytes(), want, []string{"done"}, full); err != nil {
			return err
		}
		if got := resp.Header.Get("X-Epilogue-Activation"); full && got != id {
			return fmt.Errorf("X-Epilogue-Activation %q, want %q", got, id)
		}
		alat, _, err := awaitDone(ctx, c, p.base, id, &buf)
		if err != nil {
			return err
		}
		if measured {
			runs = append(runs, t1.Sub(t0))
			awaits = append(awaits, alat)
			// The checks between the two calls are not the client's wait,
			// so they are left out of run + await.
			both = append(both, t1.Sub(t0)+alat)
		}
		return nil
	}
	meter := newMeter(p)
	lr, err := loop(ctx, b.warmup, b.n, func() { dials.Store(0); meter.start() }, step)
	mk := func(label, measures string, samples []time.Duration) *modeResult {
		m := &modeResult{
			Label: label, Target: "proxy", Tracking: "on", Connection: keepAlive, Measures: measures, Protocol: p.protocol,
			Stats:          benchstat.Summarize(lr.measured, lr.fails.Measured, lr.elapsed, samples),
			WarmupRequests: b.warmup, WarmupErrors: lr.fails.Warmup, ErrorExamples: lr.fails.Examples, Dials: dials.Load(),
		}
		return m
	}
	pair := mk("proxy, run + await (nothing pending), keep-alive", "POST /run + GET /epilogue/await", both)
	pair.Note = "requests are activations (one /run and one /epilogue/await each); req/s is activations per second"
	if err == nil {
		pair.CPU = meter.perRequest(b.n)
	}
	aw := mk("proxy, await alone (nothing pending), keep-alive", "GET /epilogue/await", awaits)
	rn := mk("proxy, run (in the await loop), keep-alive", "POST /run (in the await loop)", runs)
	for _, m := range []*modeResult{aw, rn} {
		m.ElapsedS, m.ReqPerS, m.part = 0, 0, true
		m.Note = "latencies of one part of the run + await loop; its elapsed time and rate are the run + await row's"
	}
	rows := []keyedMode{{"await_run_plus_await", pair}, {"await_await_only", aw}, {"await_run_only", rn}}
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w; %s", err, p.stderrTail())
	}
	return rows, err
}

type loopResult struct {
	elapsed  time.Duration
	measured int // measured requests attempted
	fails    benchstat.Failures
}

// loop runs step warmup+n times, strictly sequentially. atStart runs just
// before the first measured step. A step's error counts as a failed
// request; giveUpAfter of them in a row end the loop.
func loop(ctx context.Context, warmup, n int, atStart func(), step func(i int, measured bool) error) (loopResult, error) {
	var lr loopResult
	var start time.Time
	stop := func() {
		if !start.IsZero() {
			lr.elapsed = time.Since(start)
		}
	}
	for i := 0; i < warmup+n; i++ {
		if err := ctx.Err(); err != nil {
			stop()
			return lr, err
		}
		measured := i >= warmup
		if i == warmup {
			atStart()
			start = time.Now()
		}
		if measured {
			lr.measured++
		}
		err := step(i, measured)
		if err == nil {
			lr.fails.OK()
			continue
		}
		if ctx.Err() != nil {
			lr.measured-- // interrupted, not failed
			stop()
			return lr, ctx.Err()
		}
		if err := lr.fails.Add(measured, fmt.Sprintf("request %d", i), err, giveUpAfter); err != nil {
			stop()
			return lr, err
		}
	}
	stop()
	return lr, nil
}

// meter measures CPU time over the measured phase.
type meter struct {
	p                    *proxyProc
	proxy0, action0, us0 time.Duration
}

func newMeter(p *proxyProc) *meter { return &meter{p: p} }

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *meter) start() {
	if m.p != nil {
		m.proxy0, m.action0 = m.p.cpu()
	}
	m.us0 = selfCPU()
}

func (m *meter) perRequest(n int) *cpuUse {
	c := &cpuUse{Bench: benchstat.Micros(selfCPU()-m.us0) / float64(n)}
	if m.p != nil {
		pr, ac := m.p.cpu()
		c.Proxy = benchstat.Micros(pr-m.proxy0) / float64(n)
		c.Action = benchstat.Micros(ac-m.action0) / float64(n)
	}
	return c
}

func ratios(modes map[string]*modeResult) map[string]any {
	st := func(k string) benchstat.Stats {
		if m := modes[k]; m != nil {
			return m.Stats
		}
		return benchstat.Stats{} // a mode -conns left out
	}
	r := map[string]any{
		"definition": "p50_ratio, p99_ratio = latency of the first / the second (above 1: first slower); " +
			"throughput_ratio = req/s of the first / the second (below 1: first slower); deltas in µs",
		"tracking_on_vs_off": map[string]benchstat.Comparison{
			keepAlive: benchstat.Compare(st("tracking_on_keepalive"), st("tracking_off_keepalive")),
			newConn:   benchstat.Compare(st("tracking_on_newconn"), st("tracking_off_newconn")),
		},
		"proxy_vs_floor": map[string]benchstat.Comparison{
			"tracking_on_keepalive":  benchstat.Compare(st("tracking_on_keepalive"), st("floor_keepalive")),
			"tracking_off_keepalive": benchstat.Compare(st("tracking_off_keepalive"), st("floor_keepalive")),
			"tracking_on_newconn":    benchstat.Compare(st("tracking_on_newconn"), st("floor_newconn")),
			"tracking_off_newconn":   benchstat.Compare(st("tracking_off_newconn"), st("floor_newconn")),
		},
	}
	poll := map[string]benchstat.Comparison{}
	pollCPU := map[string]float64{}
	for _, conn := range []string{keepAlive, invokerConn} {
		on, off := "tracking_off_"+connKey(conn), "tracking_off_nopoll_"+connKey(conn)
		if modes[on] == nil || modes[off] == nil {
			continue // a mode -conns left out
		}
		poll[conn] = benchstat.Compare(st(on), st(off))
		if modes[on].CPU != nil && modes[off].CPU != nil {
			pollCPU[conn] = benchstat.Ratio(modes[on].CPU.Proxy, modes[off].CPU.Proxy)
		}
	}
	r["busy_poll_on_vs_off"] = poll
	r["busy_poll_proxy_cpu_ratio"] = pollCPU
	pair, aw, rn, on := st("await_run_plus_await"), st("await_await_only"), st("await_run_only"), st("tracking_on_keepalive")
	r["await"] = map[string]float64{
		"await_p50_us":                            aw.P50Us,
		"await_p99_us":                            aw.P99Us,
		"run_plus_await_p50_us":                   pair.P50Us,
		"run_plus_await_p99_us":                   pair.P99Us,
		"run_p50_us_same_loop":                    rn.P50Us,
		"run_p99_us_same_loop":                    rn.P99Us,
		"added_p50_us":                            pair.P50Us - rn.P50Us,
		"added_p99_us":                            pair.P99Us - rn.P99Us,
		"run_plus_await_vs_run_p50_ratio":         benchstat.Ratio(pair.P50Us, rn.P50Us),
		"added_p50_us_vs_tracking_on_keepalive":   pair.P50Us - on.P50Us,
		"run_plus_await_vs_tracking_on_p50_ratio": benchstat.Ratio(pair.P50Us, on.P50Us),
	}
	if _, ok := modes["sdk_tracking_on_keepalive"]; ok {
		sf := map[string]benchstat.Comparison{}
		for _, k := range sdkFixtureKeys {
			sf[k] = benchstat.Compare(st("sdk_"+k), st(k))
		}
		r["sdk_vs_fixture"] = sf
	}
	if _, ok := modes["sdk_traced_keepalive"]; ok {
		r["tracing_on_vs_off"] = benchstat.Compare(st("sdk_traced_keepalive"), st("sdk_tracking_on_keepalive"))
	}
	return r
}

// sdkFixtureKeys are the modes the SDK action and the fixture both run.
var sdkFixtureKeys = []string{"tracking_on_keepalive", "tracking_off_keepalive", "tracking_on_newconn", "tracking_off_newconn"}

func printReport(w io.Writer, rep *report) {
	m := rep.Machine
	fmt.Fprintf(w, "\nepilogue-proxy /run benchmark: one sequential client over loopback; %d requests per mode (+%d warm-up)\n",
		rep.Config.N, rep.Config.Warmup)
	end := m.LoadAvgEnd
	if end == "" {
		end = "–"
	}
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s/%s, %s, %s; load average at start %s, at end %s\n",
		m.NumCPU, m.CPUModel, m.GOOS, m.GOARCH, m.GoVersion, m.Time, m.LoadAvgStart, end)
	if benchstat.Busy(m.LoadAvgStart, m.NumCPU) || benchstat.Busy(m.LoadAvgEnd, m.NumCPU+2) {
		fmt.Fprintln(w, "warning: other processes were busy on this machine (load average above the CPU count); expect noisy numbers")
	}
	fmt.Fprintln(w)
	const lw = 52
	dash := func(v float64, f string) string {
		if v == 0 {
			return "–"
		}
		return fmt.Sprintf(f, v)
	}
	row := func(label string, s benchstat.Stats) {
		fmt.Fprintf(w, "%-*s %8d %6d %9s %7s %9s %9s %9s %9s\n", lw, label, s.Requests, s.Errors,
			dash(s.ElapsedS, "%.3f s"), dash(s.ReqPerS, "%.0f"),
			benchstat.FormatMicros(s.P50Us), benchstat.FormatMicros(s.P90Us), benchstat.FormatMicros(s.P99Us), benchstat.FormatMicros(s.MaxUs))
	}
	fmt.Fprintf(w, "%-*s %8s %6s %9s %7s %9s %9s %9s %9s\n", lw, "mode", "requests", "errors", "elapsed", "req/s", "p50", "p90", "p99", "max")
	for _, k := range rep.Config.Order {
		row(rep.Modes[k].Label, rep.Modes[k].Stats)
	}

	fmt.Fprintf(w, "\nCPU time per measured request, from /proc/PID/stat (10 ms ticks) and getrusage:\n")
	fmt.Fprintf(w, "%-*s %9s %9s %13s %7s\n", lw, "mode", "proxy", "action", "bench process", "dials")
	for _, k := range rep.Config.Order {
		md := rep.Modes[k]
		if md.CPU == nil {
			continue
		}
		if md.Target == "floor" {
			fmt.Fprintf(w, "%-*s %9s %9s %10.1f µs %7d\n", lw, md.Label, "–", "–", md.CPU.Bench, md.Dials)
			continue
		}
		fmt.Fprintf(w, "%-*s %6.1f µs %6.1f µs %10.1f µs %7d\n", lw, md.Label, md.CPU.Proxy, md.CPU.Action, md.CPU.Bench, md.Dials)
	}
	if rep.Ratios == nil {
		return
	}

	fmt.Fprintf(w, "\nRatios (latency ratio >1 = first slower; throughput ratio <1 = first slower):\n")
	const cw = 64
	fmt.Fprintf(w, "%-*s %9s %9s %9s %10s\n", cw, "comparison", "p50", "p50 Δ", "p99", "throughput")
	cmpRow := func(label string, c benchstat.Comparison) {
		fmt.Fprintf(w, "%-*s %8.2f× %6.0f µs %8.2f× %9.2f×\n", cw, label, c.P50Ratio, c.P50DeltaUs, c.P99Ratio, c.ThroughputRatio)
	}
	onOff := rep.Ratios["tracking_on_vs_off"].(map[string]benchstat.Comparison)
	cmpRow("tracking on vs off, keep-alive", onOff[keepAlive])
	cmpRow("tracking on vs off, new-connection", onOff[newConn])
	if poll, ok := rep.Ratios["busy_poll_on_vs_off"].(map[string]benchstat.Comparison); ok {
		cpu, _ := rep.Ratios["busy_poll_proxy_cpu_ratio"].(map[string]float64)
		for _, conn := range []string{keepAlive, invokerConn} {
			if c, ok := poll[conn]; ok {
				cmpRow(fmt.Sprintf("busy polling on vs off, %s (proxy CPU %.2f×)", conn, cpu[conn]), c)
			}
		}
	}
	pf := rep.Ratios["proxy_vs_floor"].(map[string]benchstat.Comparison)
	for _, k := range []string{"tracking_on_keepalive", "tracking_off_keepalive", "tracking_on_newconn", "tracking_off_newconn"} {
		cmpRow("proxy "+modeWords(k)+" vs HTTP floor (same run)", pf[k])
	}
	if sf, ok := rep.Ratios["sdk_vs_fixture"].(map[string]benchstat.Comparison); ok {
		for _, k := range sdkFixtureKeys {
			cmpRow("SDK action vs fixture, "+modeWords(k)+" (same run)", sf[k])
		}
	}
	if c, ok := rep.Ratios["tracing_on_vs_off"].(benchstat.Comparison); ok {
		cmpRow("SDK action traced (OTLP/HTTP) vs tracing off, keep-alive", c)
	}
	if rep.Upstream != nil {
		printUpstream(w, rep.Upstream)
	}

	a := rep.Ratios["await"].(map[string]float64)
	fmt.Fprintf(w, "\n/epilogue/await with nothing pending (keep-alive): p50 %s, p99 %s alone\n",
		benchstat.FormatMicros(a["await_p50_us"]), benchstat.FormatMicros(a["await_p99_us"]))
	fmt.Fprintf(w, "run + await p50 %s vs run p50 %s in the same loop: %+.0f µs (%.2f×); vs the tracking-on keep-alive run p50: %+.0f µs\n",
		benchstat.FormatMicros(a["run_plus_await_p50_us"]), benchstat.FormatMicros(a["run_p50_us_same_loop"]), a["added_p50_us"],
		a["run_plus_await_vs_run_p50_ratio"], a["added_p50_us_vs_tracking_on_keepalive"])
	if rep.SDKTracking != nil {
		printSDK(w, rep.SDKTracking)
	}
	if rep.Durable != nil {
		printDurable(w, rep.Durable)
	}
	if rep.InitMemory != nil {
		printInitMemory(w, rep.InitMemory)
	}
	if rep.Standalone != nil {
		printStandalone(w, rep.Standalone)
	}
}

// modeWords turns "tracking_on_keepalive" into "tracking on, keep-alive".
func modeWords(key string) string {
	switch {
	case strings.HasSuffix(key, "_keepalive"):
		return strings.ReplaceAll(strings.TrimSuffix(key, "_keepalive"), "_", " ") + ", keep-alive"
	case strings.HasSuffix(key, "_newconn"):
		return strings.ReplaceAll(strings.TrimSuffix(key, "_newconn"), "_", " ") + ", new-connection"
	}
	return key
}

func proxyVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// clip shortens a body for an error message.
func clip(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
