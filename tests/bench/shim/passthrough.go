package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/docker/docker/api/types/filters"

	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
)

// apiPrefix is the version prefix of the invoker's calls: the docker CLI
// negotiates it with the daemon; this daemon's and the invoker's are 1.41.
const apiPrefix = "/v1.41"

// request is one Docker API call of a probe: a row of the table per path.
type request struct {
	key, label   string
	method, path string // path with its query
	want         int    // the status a success answers
	// check, if not nil, checks the body of every checkEvery-th answer.
	check func(body []byte) error
	// settle, if not nil, runs after every success, unmeasured.
	settle func(context.Context) error
}

// probe is what one step issues, in order: a call, or a pause and the
// unpause that undoes it (so that every step leaves the container as it
// found it).
type probe struct {
	n    int // measured steps per path
	reqs []request
}

// series is what one request measured on one path.
type series struct {
	samples []time.Duration
	fails   benchstat.Failures
	done    int // answers so far, warm-up included: which to check in full
}

// passRow is one call on one path.
type passRow struct {
	Call  string `json:"call"`
	Path  string `json:"path"`
	Label string `json:"label"`
	benchstat.Stats
	WarmupErrors  int      `json:"warmup_errors"`
	ErrorExamples []string `json:"error_examples,omitempty"`
}

// passReport is the pass-through part's result.
type passReport struct {
	Rows []passRow `json:"rows"`
	// ShimVsDirect compares, per call, the shim's distribution with the
	// daemon's: ratios above 1 mean the shim is slower; deltas in µs.
	ShimVsDirect map[string]benchstat.Comparison `json:"shim_vs_direct"`
	// Dials counts the connections each client opened in the measured
	// phase (keep-alive: none, or one after an error).
	Dials  map[string]int64 `json:"dials"`
	Errors int              `json:"errors"`
	order  []string         // call keys in table order
}

// probes are the invoker's calls, on the benchmark's containers.
func probes(e *env, cfg *config) []probe {
	fjson, _ := filters.ToJSON(filters.NewArgs(filters.Arg("name", e.prefix)))
	pair := func(key, what string, c benchContainer) probe {
		p := apiPrefix + "/containers/" + c.id
		return probe{n: cfg.PauseN, reqs: []request{
			{key: "pause_" + key, label: "POST pause, " + what, method: http.MethodPost, path: p + "/pause", want: http.StatusNoContent,
				settle: func(ctx context.Context) error { return e.settle(ctx, c.id, true) }},
			{key: "unpause_" + key, label: "POST unpause, " + what, method: http.MethodPost, path: p + "/unpause", want: http.StatusNoContent,
				settle: func(ctx context.Context) error { return e.settle(ctx, c.id, false) }},
		}}
	}
	return []probe{
		{n: cfg.N, reqs: []request{{key: "ping", label: "HEAD /_ping", method: http.MethodHead, path: "/_ping", want: http.StatusOK}}},
		{n: cfg.N, reqs: []request{{key: "inspect", label: "GET containers/{id}/json (inspect)", method: http.MethodGet,
			path: apiPrefix + "/containers/" + e.runtime.id + "/json", want: http.StatusOK, check: inspects(e.runtime.id)}}},
		{n: cfg.N, reqs: []request{{key: "ps", label: "GET containers/json, name filter (ps)", method: http.MethodGet,
			path: apiPrefix + "/containers/json?all=1&filters=" + url.QueryEscape(fjson), want: http.StatusOK, check: lists(e.runtime.id, e.other.id)}}},
		pair("other", "not a runtime", e.other),
		pair("runtime", "idle runtime", e.runtime),
	}
}

// inspects checks an inspect answer names container id.
func inspects(id string) func([]byte) error {
	return func(body []byte) error {
		var v struct{ ID string }
		if err := json.Unmarshal(body, &v); err != nil || v.ID != id {
			return fmt.Errorf("inspect answered id %q (%v), want %q", v.ID, err, id)
		}
		return nil
	}
}

// lists checks a ps answer lists every one of ids.
func lists(ids ...string) func([]byte) error {
	return func(body []byte) error {
		var v []struct{ ID string }
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("ps answered no list: %w", err)
		}
		for _, id := range ids {
			if !slices.ContainsFunc(v, func(c struct{ ID string }) bool { return c.ID == id }) {
				return fmt.Errorf("ps does not list %s among %d containers", id, len(v))
			}
		}
		return nil
	}
}

// share is round r's part of n steps over rounds rounds: the shares sum to
// n and differ by at most one.
func share(n, rounds, r int) int { return n*(r+1)/rounds - n*r/rounds }

// pathOrder alternates which path goes first, round by round.
func pathOrder[T any](r int, a, b T) []T {
	if r%2 == 0 {
		return []T{a, b}
	}
	return []T{b, a}
}

// passthrough measures the probes through the shim and directly.
func passthrough(ctx context.Context, e *env, cfg *config) (*passReport, error) {
	ps := probes(e, cfg)
	targets := []*target{e.direct, e.shimmed}
	got := map[string]map[string]*series{}
	for _, p := range ps {
		for _, r := range p.reqs {
			got[r.key] = map[string]*series{}
			for _, t := range targets {
				got[r.key][t.name] = &series{samples: make([]time.Duration, 0, p.n)}
			}
		}
	}
	var buf bytes.Buffer
	// step issues one step of p on t; a failed call ends the step.
	step := func(p probe, t *target, measured bool) error {
		for _, r := range p.reqs {
			s := got[r.key][t.name]
			s.done++
			lat, err := do(ctx, t.client, r.method, dockerBase+r.path, nil, r.want, &buf)
			if err == nil && r.check != nil && s.done%checkEvery == 1 {
				err = r.check(buf.Bytes())
			}
			if err == nil && r.settle != nil {
				err = r.settle(ctx)
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return s.fails.Add(measured, fmt.Sprintf("call %d", s.done), err, giveUpAfter)
			}
			s.fails.OK()
			if measured {
				s.samples = append(s.samples, lat)
			}
		}
		return nil
	}
	run := func() error {
		for _, p := range ps {
			for _, t := range targets {
				for range cfg.Warmup {
					if err := step(p, t, false); err != nil {
						return err
					}
				}
			}
		}
		for _, t := range targets {
			t.dials.Store(0)
		}
		for r := range cfg.Rounds {
			for i := range ps {
				p := ps[(i+r)%len(ps)] // the calls' order rotates too
				for _, t := range pathOrder(r, e.direct, e.shimmed) {
					for range share(p.n, cfg.Rounds, r) {
						if err := step(p, t, true); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	}
	err := run()

	rep := &passReport{ShimVsDirect: map[string]benchstat.Comparison{}, Dials: map[string]int64{}}
	for _, p := range ps {
		for _, r := range p.reqs {
			rep.order = append(rep.order, r.key)
			stats := map[string]benchstat.Stats{}
			for _, t := range targets {
				s := got[r.key][t.name]
				stats[t.name] = benchstat.Summarize(len(s.samples)+s.fails.Measured, s.fails.Measured, 0, s.samples)
				rep.Rows = append(rep.Rows, passRow{Call: r.key, Path: t.name, Label: r.label, Stats: stats[t.name],
					WarmupErrors: s.fails.Warmup, ErrorExamples: s.fails.Examples})
				rep.Errors += s.fails.Measured + s.fails.Warmup
			}
			rep.ShimVsDirect[r.key] = benchstat.Compare(stats[e.shimmed.name], stats[e.direct.name])
		}
	}
	for _, t := range targets {
		rep.Dials[t.name] = t.dials.Load()
	}
	return rep, err
}

func printPass(w io.Writer, rep *passReport, cfg config) {
	const lw = 52
	fmt.Fprintf(w, "\nPass-through overhead: each call through the shim and directly against the daemon, one sequential client per path\n"+
		"over its unix socket (keep-alive), interleaved in %d rounds (+%d warm-up steps each); latency = request sent → body read\n\n", cfg.Rounds, cfg.Warmup)
	statsHeader(w, lw, "call, path")
	for _, r := range rep.Rows {
		statsRow(w, lw, r.Label+", "+r.Path, r.Stats)
	}
	fmt.Fprintf(w, "\n%-*s %10s %10s %10s %10s\n", lw, "shim vs direct (same run)", "p50 ratio", "p50 added", "p99 ratio", "p99 added")
	labels := map[string]string{}
	for _, r := range rep.Rows {
		labels[r.Call] = r.Label
	}
	for _, k := range rep.order {
		c := rep.ShimVsDirect[k]
		fmt.Fprintf(w, "%-*s %9.2f× %7.0f µs %9.2f× %7.0f µs\n", lw, labels[k], c.P50Ratio, c.P50DeltaUs, c.P99Ratio, c.P99DeltaUs)
	}
	fmt.Fprintf(w, "connections opened: direct %d, shim %d\n", rep.Dials["direct"], rep.Dials["shim"])
	for _, r := range rep.Rows {
		if len(r.ErrorExamples) > 0 {
			fmt.Fprintf(w, "%s, %s: %d errors (+%d in the warm-up), e.g. %s\n", r.Label, r.Path, r.Errors, r.WarmupErrors, r.ErrorExamples[0])
		}
	}
}
