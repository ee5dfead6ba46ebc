package live

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/internal/ctxtime"
	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/replay"
	"github.com/epilogue-dev/epilogue/standalone/backend/process"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// Defaults of Config.
const (
	DefaultSpeedup   = 60
	DefaultFunctions = 4
	// DefaultWall is the wall time of the window Cut picks by default: the
	// window is DefaultWall × K of trace time.
	DefaultWall = 2 * time.Minute
	// DefaultMaxRate is the calls per wall second a replay may ask of this
	// machine: each is an HTTP round trip to a proxy process and a record
	// written twice, beside cold starts that start processes.
	DefaultMaxRate = 20
	// DefaultMaxLag is how late a call may be sent before the run stops:
	// later, the pool sees another trace than the one replayed.
	DefaultMaxLag = 2 * time.Second
)

// settleBound bounds the wait for the last calls' records after the
// window, and the pool's Close: far above a busy machine's delays.
const settleBound = 3 * time.Minute

// Config configures a live replay.
type Config struct {
	// Speedup is K: trace time runs K times faster than wall time.
	Speedup float64
	// Functions is how many of the trace's functions Cut keeps.
	Functions int
	// Window is the trace time replayed, from the trace's start; 0 =
	// DefaultWall × Speedup.
	Window time.Duration
	// MaxRate and MaxLag: see their defaults; 0 = the default.
	MaxRate float64
	MaxLag  time.Duration
	// MemoryMB is the pool's memory budget; 0 = enough for every
	// function's instances at once (no evictions), as the simulator's 0.
	MemoryMB int
	// Action is the argv of the program that serves the replay's action
	// (ServeAction): epilogue's own `epilogue replay-action`.
	Action []string
	// ProxyPath is epilogue-proxy; "" = the process backend's lookup.
	ProxyPath string
	// Logger gets the pool's logs; nil = discarded.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Speedup == 0 {
		c.Speedup = DefaultSpeedup
	}
	if c.Functions == 0 {
		c.Functions = DefaultFunctions
	}
	if c.Window == 0 {
		c.Window = time.Duration(float64(DefaultWall) * c.Speedup).Truncate(time.Minute)
	}
	if c.MaxRate == 0 {
		c.MaxRate = DefaultMaxRate
	}
	if c.MaxLag == 0 {
		c.MaxLag = DefaultMaxLag
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	switch {
	case c.Speedup < 1:
		return c, fmt.Errorf("a speed-up of %g: want 1 or more (trace time runs that many times faster)", c.Speedup)
	case c.Functions < 1:
		return c, fmt.Errorf("%d functions: want at least 1", c.Functions)
	case c.Window < time.Minute:
		return c, fmt.Errorf("a window of %s: want at least a minute of trace time", c.Window)
	}
	return c, nil
}

// Cut returns the part of t a live replay runs: the first cfg.Functions
// functions with calls in the window's minutes, their calls after it
// dropped; and cfg with its defaults, the window resolved (the default
// one is cut to the trace), for Run. It refuses a window denser than
// cfg.MaxRate calls per wall second.
func Cut(t *replay.Trace, cfg Config) (*replay.Trace, Config, error) {
	defaultWindow := cfg.Window == 0
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, cfg, err
	}
	whole := time.Duration(t.Days) * 24 * time.Hour
	if defaultWindow {
		cfg.Window = min(cfg.Window, whole)
	}
	if cfg.Window > whole {
		return nil, cfg, fmt.Errorf("a window of %s is longer than the trace's %d days", cfg.Window, t.Days)
	}
	minutes := int(cfg.Window / time.Minute)
	out := &replay.Trace{Days: t.Days}
	calls := 0
	for _, f := range t.Functions {
		if len(out.Functions) == cfg.Functions {
			break
		}
		n := 0
		for _, c := range f.Counts[:minutes] {
			n += c
		}
		if n == 0 {
			continue
		}
		f.Counts = append(slices.Clone(f.Counts[:minutes]), make([]int, len(f.Counts)-minutes)...)
		out.Functions = append(out.Functions, f)
		calls += n
	}
	if len(out.Functions) == 0 {
		return nil, cfg, fmt.Errorf("no function has calls in the trace's first %s", cfg.Window)
	}
	wall := cfg.Window.Seconds() / cfg.Speedup
	if rate := float64(calls) / wall; rate > cfg.MaxRate {
		return nil, cfg, fmt.Errorf("the trace is too dense for a speed-up of %g on this machine: %d calls of %d functions in %s of trace time are %.1f calls per second of wall time (at most %g): lower the speed-up, the functions or the window",
			cfg.Speedup, calls, len(out.Functions), cfg.Window, rate, cfg.MaxRate)
	}
	return out, cfg, nil
}

// Outcome is one policy's live run.
type Outcome struct {
	replay.Result
	// Pool is the pool's own count of what it did.
	Pool pool.Stats `json:"-"`
	// Records are the calls' activation records, in call order.
	Records []entity.Activation `json:"-"`
}

// Compare runs t (cut already) live under each named policy, one after
// the other, and under fixed too when it is not named, for MemoryVsFixed.
func Compare(ctx context.Context, t *replay.Trace, names []string, cfg Config) ([]Outcome, error) {
	runs := names
	if !slices.Contains(names, "fixed") {
		runs = append([]string{"fixed"}, names...)
	}
	var out []Outcome
	var fixed float64
	for _, n := range runs {
		o, err := Run(ctx, t, n, cfg)
		if err != nil {
			return nil, fmt.Errorf("the live replay under %s: %w", n, err)
		}
		if n == "fixed" {
			fixed = o.WastedMemorySeconds
		}
		if slices.Contains(names, n) {
			out = append(out, o)
		}
	}
	for i := range out {
		if fixed > 0 {
			out[i].MemoryVsFixed = out[i].WastedMemorySeconds / fixed
		}
	}
	return out, nil
}

// call is one scheduled call.
type call struct {
	fn int
	at time.Time // trace time
}

// schedule spreads each minute's calls evenly over it, as the simulator.
func schedule(t *replay.Trace, end time.Time) []call {
	var calls []call
	for fn, f := range t.Functions {
		for m, n := range f.Counts {
			start := replay.Epoch.Add(time.Duration(m) * time.Minute)
			if !start.Before(end) {
				break
			}
			for i := range n {
				calls = append(calls, call{fn: fn, at: start.Add(time.Minute * time.Duration(2*i+1) / time.Duration(2*n))})
			}
		}
	}
	slices.SortStableFunc(calls, func(a, b call) int { return a.at.Compare(b.at) })
	return calls
}

// Run replays t (cut already: every call of it is sent) under the policy
// name against a new pool on the process backend.
func Run(ctx context.Context, t *replay.Trace, name string, cfg Config) (Outcome, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Outcome{}, err
	}
	if len(cfg.Action) == 0 {
		return Outcome{}, errors.New("no action program: name the program that serves ServeAction (epilogue replay-action)")
	}
	policy, err := keepalive.New(name)
	if err != nil {
		return Outcome{}, err
	}
	dir, err := os.MkdirTemp("", "epilogue-replay-live-")
	if err != nil {
		return Outcome{}, fmt.Errorf("a work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	b, err := process.New(process.Config{ProxyPath: cfg.ProxyPath, WorkDir: dir + "/containers"})
	if err != nil {
		return Outcome{}, err
	}
	st, err := store.Open(dir + "/data")
	if err != nil {
		return Outcome{}, err
	}
	actions, memory := actionsOf(t, cfg)
	if cfg.MemoryMB > 0 {
		memory = cfg.MemoryMB
	}
	k := cfg.Speedup
	scaled := &keepalive.Scaled{Policy: policy, At: replay.Epoch, K: k}
	p, err := pool.New(pool.Config{
		Backend: b, Store: st, Policy: reclaim.Epilogue, KeepAlive: scaled, MemoryMB: memory,
		PauseGrace: scaledDown(pool.DefaultPauseGrace, k), IdleTimeout: scaledDown(pool.DefaultIdleTimeout, k),
		Logger: cfg.Logger,
	})
	if err != nil {
		return Outcome{}, errors.Join(err, st.Close(), closeBackend(b))
	}
	r := &run{t: t, cfg: cfg, k: k, pool: p, actions: actions}
	o, runErr := r.replay(ctx, scaled)
	closeCtx, cancel := context.WithTimeout(context.Background(), settleBound)
	defer cancel()
	return o, errors.Join(runErr, p.Close(closeCtx), st.Close(), closeBackend(b))
}

func closeBackend(b *process.Backend) error {
	ctx, cancel := context.WithTimeout(context.Background(), settleBound)
	defer cancel()
	return b.Close(ctx)
}

func scaledDown(d time.Duration, k float64) time.Duration {
	return max(time.Duration(float64(d)/k), time.Millisecond)
}

// actionsOf makes an action per function, running the program cfg.Action
// names, and returns them with a memory budget that holds all of them
// several times over.
func actionsOf(t *replay.Trace, cfg Config) ([]entity.Action, int) {
	quoted := make([]string, len(cfg.Action))
	for i, a := range cfg.Action {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	code := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\nexec " + strings.Join(quoted, " ") + "\n"))
	var actions []entity.Action
	memory := 0
	for i, f := range t.Functions {
		limits := entity.DefaultLimits()
		limits.Memory = min(max(f.MemoryMB, entity.MinMemoryMB), entity.MaxMemoryMB)
		// The call's own time, scaled, and a minute for a busy machine.
		limits.Timeout = int(min((scaledDown(f.Duration+f.Linger, cfg.Speedup) + time.Minute).Milliseconds(), entity.MaxTimeoutMs))
		actions = append(actions, entity.Action{
			Namespace: "replay", Name: fmt.Sprintf("f%d", i), Version: "0.0.1", Updated: 1,
			Exec:   entity.Exec{Kind: entity.KindBlackbox, Image: process.ActionGoImage, Code: code, Binary: true},
			Limits: limits,
		})
		memory += 4 * limits.Memory
	}
	return actions, memory
}

// run is one live replay's state.
type run struct {
	t       *replay.Trace
	cfg     Config
	k       float64
	pool    *pool.Pool
	actions []entity.Action
}

func (r *run) replay(ctx context.Context, scaled *keepalive.Scaled) (Outcome, error) {
	end := replay.Epoch.Add(r.cfg.Window)
	calls := schedule(r.t, end)
	timeline, sub := r.pool.Subscribe()
	defer sub.Close()
	// The first call a moment after the start, so that it is on time.
	start := time.Now().Add(100 * time.Millisecond)
	scaled.From = start
	acc := newAccount(r, scaled, timeline)
	var accDone sync.WaitGroup
	accDone.Add(1)
	go func() {
		defer accDone.Done()
		acc.follow(sub)
	}()

	invs := make([]*pool.Invocation, 0, len(calls))
	var sendErr error
	for _, c := range calls {
		due := scaled.Wall(c.at)
		if err := sleepUntil(ctx, due); err != nil {
			sendErr = err
			break
		}
		if late := time.Since(due); late > r.cfg.MaxLag {
			sendErr = fmt.Errorf("the replay fell %s behind its schedule at trace time %s: this machine is too busy for a speed-up of %g; lower it", late.Round(time.Millisecond), c.at.Sub(replay.Epoch), r.k)
			break
		}
		f := r.t.Functions[c.fn]
		params, _ := json.Marshal(actionParams{DurationMs: ms(scaledDown(f.Duration, r.k)), LingerMs: ms(time.Duration(float64(f.Linger) / r.k))})
		inv, err := r.pool.Invoke(ctx, pool.Request{Action: r.actions[c.fn], Params: params, Subject: "replay"})
		if err != nil {
			sendErr = err
			break
		}
		invs = append(invs, inv)
	}
	// The window's end in wall time, or the last call's completion when
	// later: accounting stops at the window's end, as the simulator's.
	if sendErr == nil {
		sendErr = sleepUntil(ctx, scaled.Wall(end))
	}
	records, waitErr := awaitAll(ctx, invs)
	stats := r.pool.Snapshot().Stats
	sub.Close()
	accDone.Wait()
	if err := errors.Join(sendErr, waitErr, acc.err()); err != nil {
		return Outcome{}, err
	}
	o := Outcome{Pool: stats, Records: records}
	o.Result = acc.result(calls, records, stats, scaled.Wall(end))
	return o, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sleepUntil(ctx context.Context, t time.Time) error { return ctxtime.Sleep(ctx, time.Until(t)) }

// awaitAll waits, bounded, for every invocation's final record.
func awaitAll(ctx context.Context, invs []*pool.Invocation) ([]entity.Activation, error) {
	bound := time.NewTimer(settleBound)
	defer bound.Stop()
	records := make([]entity.Activation, len(invs))
	for i, inv := range invs {
		select {
		case <-inv.Completed():
		case <-bound.C:
			return nil, fmt.Errorf("%d of %d calls were not complete %s after the window ended: the pool is stuck or the machine far too busy", len(invs)-i, len(invs), settleBound)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		records[i] = inv.Record()
	}
	return records, nil
}
