// Command shim measures epilogue-shim, the Docker Engine API interposer, on
// this machine's Docker daemon, against a same-run baseline: the daemon
// itself.
//
//	go run ./tests/bench/shim -shim bin/epilogue-shim -proxy bin/epilogue-proxy -action out/bench/exec \
//		-image epilogue/action-go:latest -json out/bench/shim.json [-short]
//
// It starts the built shim as a subprocess (--listen unix://TMP/docker.sock
// --journal TMP/journal --notify-listen GATEWAY:0, GATEWAY being this
// machine's address on the bridge network), then, through the shim as an
// OpenWhisk invoker does, creates and starts two containers named
// epilogue-shimbench-PID-…: "runtime", of -image (which the shim treats as
// an Epilogue runtime: it adds EPILOGUE_NOTIFY_URL and a token on create,
// which is checked), /init'ed with the fixture action; and "other", of an
// image built here FROM scratch with -proxy under another name, which the
// shim does not treat as a runtime (also checked). Both containers, the
// image and the shim are removed at the end, on error and on ^C (a second
// ^C kills the benchmark at once).
//
// 1. Pass-through overhead. One raw net/http client per target, dialing
// the shim's socket or the daemon's (keep-alive; the docker CLI is not
// measured: its process start would dominate), issues the calls an invoker
// makes, with the API version prefix the invoker's CLI negotiates (v1.41):
//
//	HEAD /_ping
//	GET  /v1.41/containers/RUNTIME/json                                 (docker inspect)
//	GET  /v1.41/containers/json?all=1&filters={"name":{"epilogue-shimbench-PID-":true}}  (docker ps)
//	POST /v1.41/containers/OTHER/pause, then …/unpause                  (not a runtime: forwarded)
//	POST /v1.41/containers/RUNTIME/pause, then …/unpause                (a runtime with nothing pending)
//
// (-n steps each for the first three, default 3000, -short 300; -pause-n
// pause+unpause pairs each, default 300, -short 50). Every step of every
// call runs -warmup times first, not counted. Then the calls take turns in
// -rounds rounds: in each, each call does its share of steps through the
// shim and directly, in blocks, which path goes first alternating every
// round, so that a change in the machine's load hits both paths alike.
// Latency is from just before the request is sent to the end of reading
// the response body; percentiles at index ⌊(n−1)·p⌋ (package benchstat).
// Every response's status is checked, and every 100th body decoded (the
// inspected id; ps lists both containers); anything else is an error.
// After each pause and unpause, unmeasured, the benchmark waits until the
// daemon reports the new state and then settleGap (20 ms): the daemon
// applies containerd's own paused/resumed events late, and one arriving
// after the next call flips the state back (see settleGap).
//
// 2. Reclaim lag. -k times (default 100, -short 20), on the runtime
// container: POST /run {"value":{"linger_ms":50,"quiet":true},…} on the
// runtime (so work goes on for -linger after the response), POST pause
// through the shim (answered 204 at once: deferred), GET
// /epilogue/await?activation=ID&timeout=8s on the runtime until the
// activation is done, then wait for the daemon's real pause, then unpause
// through the shim (forwarded, as the container is paused for real; with
// the same settling as above, unmeasured). The real pause's time is the
// timeNano of the first "pause" event after the pause was sent, from the
// daemon's event stream (GET /events directly on the daemon, filtered to
// the runtime container). "Done" is when the runtime marked the activation done: its
// done record's start + responseMs + postResponseMs (µs resolution). Both
// are this machine's wall clock (CLOCK_REALTIME: the runtime in its
// container, dockerd on the host, one kernel). For comparison the lag is
// also given from the moment /epilogue/await returned to the benchmark,
// which is later than done by await's own return latency, so that lag is
// an underestimate. A round in which the daemon paused before the shim had
// answered was not deferred (the work ended first); it is counted and left
// out of the lag.
//
// Output: a table on stdout and -json (default out/bench/shim.json); exit
// status 1 on any failed request or round.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
)

// Sizes and bounds.
const (
	defaultN      = 3000
	shortN        = 300
	defaultPauseN = 300
	shortPauseN   = 50
	defaultK      = 100
	shortK        = 20
	// checkEvery: every this many responses of a call are decoded and checked.
	checkEvery = 100
	// giveUpAfter consecutive errors end the pass-through part: a target is broken.
	giveUpAfter = 20
	// stateBound bounds waiting for a state: the shim serving, the runtime
	// serving, the daemon's pause event.
	stateBound = 10 * time.Second
	// setupBound bounds one setup or clean-up step (an image build, a
	// container's create and start, its removal).
	setupBound = 2 * time.Minute
)

// namePrefix starts the name of every container the benchmark creates.
const namePrefix = "epilogue-shimbench-"

// config is what the flags say.
type config struct {
	ShimBin   string        `json:"shim"`
	ProxyBin  string        `json:"proxy"`
	ActionBin string        `json:"action"`
	Image     string        `json:"image"`
	Docker    string        `json:"docker"`
	Notify    string        `json:"notify_listen"`
	N         int           `json:"n"`
	PauseN    int           `json:"pause_n"`
	Warmup    int           `json:"warmup"`
	Rounds    int           `json:"rounds"`
	K         int           `json:"reclaim_rounds"`
	Linger    time.Duration `json:"-"`
	LingerMs  int64         `json:"linger_ms"`
	Timeout   time.Duration `json:"-"`
	TimeoutS  float64       `json:"timeout_s"`
	ShimLog   string        `json:"shim_log"`
	Client    string        `json:"client"`
	Schedule  string        `json:"schedule"`
	json      string
}

type report struct {
	Machine     benchstat.Machine `json:"machine"`
	Config      config            `json:"config"`
	ShimVersion string            `json:"shim_version,omitempty"`
	Passthrough *passReport       `json:"passthrough,omitempty"`
	Reclaim     *reclaimReport    `json:"reclaim_lag,omitempty"`
	Errors      int               `json:"errors"`
}

func main() {
	os.Exit(run())
}

func run() int {
	var cfg config
	flag.StringVar(&cfg.ShimBin, "shim", "bin/epilogue-shim", "the epilogue-shim binary (make build)")
	flag.StringVar(&cfg.ProxyBin, "proxy", "bin/epilogue-proxy", "the static epilogue-proxy binary, for the image the shim does not treat as a runtime (make build)")
	flag.StringVar(&cfg.ActionBin, "action", "out/bench/exec", "the fixture action executable (CGO_ENABLED=0 go build ./tests/testaction)")
	flag.StringVar(&cfg.Image, "image", "epilogue/action-go:latest", "the Epilogue runtime image (make image)")
	flag.StringVar(&cfg.Docker, "docker", "unix:///var/run/docker.sock", "the Docker daemon's socket")
	flag.StringVar(&cfg.Notify, "notify-listen", "", "the shim's --notify-listen; \"\" = this machine's address on the bridge network, port 0")
	flag.StringVar(&cfg.json, "json", "out/bench/shim.json", "where to write the results as JSON")
	flag.StringVar(&cfg.ShimLog, "shim-log", "out/bench/epilogue-shim.log", "where the shim logs")
	flag.IntVar(&cfg.N, "n", defaultN, "measured steps of each cheap call (ping, inspect, ps) per path")
	flag.IntVar(&cfg.PauseN, "pause-n", defaultPauseN, "measured pause+unpause pairs per container and path")
	flag.IntVar(&cfg.Warmup, "warmup", 20, "warm-up steps of each call per path, not counted")
	flag.IntVar(&cfg.Rounds, "rounds", 10, "the pass-through calls take turns in this many rounds")
	flag.IntVar(&cfg.K, "k", defaultK, "reclaim-lag rounds")
	flag.DurationVar(&cfg.Linger, "linger", 50*time.Millisecond, "how long each reclaim round's activation works after its response")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "timeout of every HTTP call (an await asks for 8 s)")
	short := flag.Bool("short", false, fmt.Sprintf("a quick run: -n %d -pause-n %d -k %d (unless given)", shortN, shortPauseN, shortK))
	flag.Parse()
	if *short {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["n"] {
			cfg.N = shortN
		}
		if !set["pause-n"] {
			cfg.PauseN = shortPauseN
		}
		if !set["k"] {
			cfg.K = shortK
		}
	}
	if cfg.N < 1 || cfg.PauseN < 1 || cfg.K < 1 || cfg.Rounds < 1 || cfg.Warmup < 0 || cfg.Linger <= 0 || cfg.Timeout <= 8*time.Second {
		fmt.Fprintln(os.Stderr, "bench/shim: -n, -pause-n, -k and -rounds must be at least 1, -warmup not negative, -linger positive and -timeout above 8s")
		return 2
	}
	cfg.LingerMs, cfg.TimeoutS = cfg.Linger.Milliseconds(), cfg.Timeout.Seconds()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first ^C the clean-up runs (bounded); a second one kills.
	context.AfterFunc(ctx, stop)

	rep, err := benchAll(ctx, &cfg)
	if rep != nil {
		printReport(os.Stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/shim:", err)
		return 1
	}
	if err := benchstat.WriteJSON(cfg.json, rep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/shim:", err)
		return 1
	}
	fmt.Printf("\nresults written to %s\n", cfg.json)
	if rep.Errors > 0 {
		fmt.Fprintf(os.Stderr, "bench/shim: %d requests or rounds failed\n", rep.Errors)
		return 1
	}
	return 0
}

// benchAll sets up, runs both parts and cleans up. On error it returns what
// it has so far.
func benchAll(ctx context.Context, cfg *config) (rep *report, err error) {
	env, err := setUp(ctx, cfg)
	defer func() {
		if cerr := env.cleanUp(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	if err != nil {
		return nil, err
	}
	rep = &report{Machine: benchstat.DescribeMachine(), Config: *cfg, ShimVersion: env.shim.version}
	rep.Config.Notify = env.notify
	rep.Config.Client = "one goroutine, strictly sequential; one net/http client per target dialing its unix socket, keep-alive"
	rep.Config.Schedule = fmt.Sprintf("after each call's warm-up on each path, the calls take turns in %d rounds; in each, each call does "+
		"its share of steps on one path then the other, which path goes first alternating every round", cfg.Rounds)

	fmt.Fprintln(os.Stderr, "bench/shim: pass-through overhead ...")
	rep.Passthrough, err = passthrough(ctx, env, cfg)
	if rep.Passthrough != nil {
		rep.Errors += rep.Passthrough.Errors
	}
	if err != nil {
		return rep, fmt.Errorf("pass-through: %w; %s", err, env.shim.stderrTail())
	}
	fmt.Fprintln(os.Stderr, "bench/shim: reclaim lag ...")
	rep.Reclaim, err = reclaimLag(ctx, env, cfg)
	if rep.Reclaim != nil {
		rep.Errors += rep.Reclaim.Errors
	}
	rep.Machine.LoadAvgEnd = benchstat.LoadAvg()
	if err != nil {
		return rep, fmt.Errorf("reclaim lag: %w; %s", err, env.shim.stderrTail())
	}
	return rep, nil
}

func printReport(w io.Writer, rep *report) {
	m := rep.Machine
	end := m.LoadAvgEnd
	if end == "" {
		end = "–"
	}
	fmt.Fprintf(w, "\nepilogue-shim benchmark (%s): the shim vs the Docker daemon directly, same run\n", rep.ShimVersion)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s/%s, %s, %s; load average at start %s, at end %s\n",
		m.NumCPU, m.CPUModel, m.GOOS, m.GOARCH, m.GoVersion, m.Time, m.LoadAvgStart, end)
	if benchstat.Busy(m.LoadAvgStart, m.NumCPU) || benchstat.Busy(m.LoadAvgEnd, m.NumCPU+2) {
		fmt.Fprintln(w, "warning: other processes were busy on this machine (load average above the CPU count); expect noisy numbers")
	}
	if rep.Passthrough != nil {
		printPass(w, rep.Passthrough, rep.Config)
	}
	if rep.Reclaim != nil {
		printReclaim(w, rep.Reclaim, rep.Passthrough)
	}
}

// statsHeader and statsRow print latency distributions in one format.
func statsHeader(w io.Writer, lw int, first string) {
	fmt.Fprintf(w, "%-*s %8s %6s %9s %9s %9s %9s\n", lw, first, "n", "errors", "p50", "p90", "p99", "max")
}

func statsRow(w io.Writer, lw int, label string, s benchstat.Stats) {
	fmt.Fprintf(w, "%-*s %8d %6d %9s %9s %9s %9s\n", lw, label, s.Samples, s.Errors,
		benchstat.FormatMicros(s.P50Us), benchstat.FormatMicros(s.P90Us), benchstat.FormatMicros(s.P99Us), benchstat.FormatMicros(s.MaxUs))
}
