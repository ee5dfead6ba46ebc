package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
)

// clocks says what the lag compares, a sentence a line.
var clocks = []string{
	"done = the runtime's done record: start + responseMs + postResponseMs (its time.Now in the container; µs resolution).",
	"real pause = timeNano of the daemon's pause event (dockerd's clock, taken once the container is frozen).",
	"await returned = this benchmark's time.Now once GET /epilogue/await had answered.",
	"All three are this machine's CLOCK_REALTIME (one kernel).",
	"await returned is later than done by await's own return latency, so the lag from it is an underestimate.",
}

// reclaimReport is the reclaim-lag part's result. Latencies of rounds
// that were not deferred are left out.
type reclaimReport struct {
	Rounds int    `json:"rounds"`
	Run    string `json:"run_value"`
	Clocks string `json:"clocks"`
	// DoneToPause is the lag: the runtime's done → the daemon's real pause.
	DoneToPause benchstat.Stats `json:"done_to_pause"`
	// AwaitToPause is /epilogue/await's return → the real pause: an underestimate.
	AwaitToPause benchstat.Stats `json:"await_return_to_pause"`
	// DoneToAwait is await's own return latency, the difference of the two.
	DoneToAwait benchstat.Stats `json:"done_to_await_return"`
	// PauseAnswer is how long the shim took to answer the deferred pause.
	PauseAnswer benchstat.Stats `json:"deferred_pause_answer"`
	// NotDeferred counts rounds in which the daemon paused before the shim
	// answered: the work was done before the shim asked the runtime.
	NotDeferred   int      `json:"not_deferred"`
	Errors        int      `json:"errors"`
	ErrorExamples []string `json:"error_examples,omitempty"`
}

// doneAt is when the runtime marked rec done, on its own clock.
func doneAt(rec completion.Activation) time.Time {
	micros := math.Round((rec.ResponseMs + rec.PostResponseMs) * 1000)
	return rec.Start.Add(time.Duration(micros) * time.Microsecond)
}

// roundTimes is what one round measured.
type roundTimes struct {
	answered time.Time // the shim's 204 to the pause had been read
	answer   time.Duration
	done     time.Time // the runtime's done record
	awaited  time.Time // /epilogue/await had answered
	paused   time.Time // the daemon's pause event
}

// reclaimLag runs cfg.K rounds on the runtime container. It stops at the
// first failed round: the container's state is then unknown.
func reclaimLag(ctx context.Context, e *env, cfg *config) (*reclaimReport, error) {
	value := fmt.Sprintf(`{"linger_ms":%d,"quiet":true}`, cfg.Linger.Milliseconds())
	rep := &reclaimReport{Run: value, Clocks: strings.Join(clocks, " ")}
	// Events since just before the subscription are replayed, so none is
	// lost between the request and the daemon's subscribing it.
	since := time.Now()
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, errs := e.daemon.Events(ectx, events.ListOptions{
		Since: fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("container", e.runtime.id), filters.Arg("event", string(events.ActionPause))),
	})
	var lag, fromAwait, awaitLat, answer []time.Duration
	var err error
	for i := range cfg.K {
		var rt roundTimes
		rt, err = e.round(ctx, cfg, value, fmt.Sprintf("shimbench-%d-%04d", os.Getpid(), i), msgs, errs)
		rep.Rounds++
		if err != nil {
			rep.Errors++
			rep.ErrorExamples = append(rep.ErrorExamples, fmt.Sprintf("round %d: %v", i, err))
			break
		}
		if !rt.paused.After(rt.answered) {
			rep.NotDeferred++
			continue
		}
		lag = append(lag, rt.paused.Sub(rt.done))
		fromAwait = append(fromAwait, rt.paused.Sub(rt.awaited))
		awaitLat = append(awaitLat, rt.awaited.Sub(rt.done))
		answer = append(answer, rt.answer)
	}
	n := len(lag)
	rep.DoneToPause = benchstat.Summarize(n, 0, 0, lag)
	rep.AwaitToPause = benchstat.Summarize(n, 0, 0, fromAwait)
	rep.DoneToAwait = benchstat.Summarize(n, 0, 0, awaitLat)
	rep.PauseAnswer = benchstat.Summarize(n, 0, 0, answer)
	if err == nil && n == 0 {
		err = fmt.Errorf("no pause of %d was deferred: the work ended before the shim asked; raise -linger", rep.Rounds)
	}
	return rep, err
}

// round is one activation, its deferred pause, the real pause and the
// unpause.
func (e *env) round(ctx context.Context, cfg *config, value, id string, msgs <-chan events.Message, errs <-chan error) (roundTimes, error) {
	var rt roundTimes
	var buf bytes.Buffer
	body := fmt.Sprintf(`{"value":%s,"activation_id":%q,"deadline":"%d"}`, value, id, time.Now().Add(time.Minute).UnixMilli())
	if _, err := do(ctx, e.rt.hc, http.MethodPost, e.rt.base+"/run", []byte(body), http.StatusOK, &buf); err != nil {
		return rt, fmt.Errorf("/run: %w", err)
	}
	container := dockerBase + apiPrefix + "/containers/" + e.runtime.id
	var err error
	sent := time.Now()
	if rt.answer, err = do(ctx, e.shimmed.client, http.MethodPost, container+"/pause", nil, http.StatusNoContent, &buf); err != nil {
		return rt, fmt.Errorf("pause through the shim: %w", err)
	}
	rt.answered = time.Now()
	if _, err := do(ctx, e.rt.hc, http.MethodGet, e.rt.base+completion.AwaitPath+"?timeout=8s&activation="+id, nil, http.StatusOK, &buf); err != nil {
		return rt, fmt.Errorf("await: %w", err)
	}
	rt.awaited = time.Now()
	var rec completion.Activation
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec.ID != id || rec.Phase != completion.PhaseDone {
		return rt, fmt.Errorf("await answered %s (%v), want activation %s done", buf.Bytes(), err, id)
	}
	rt.done = doneAt(rec)
	if rt.paused, err = pausedSince(ctx, sent, msgs, errs); err != nil {
		return rt, err
	}
	// The unpause follows the real pause closely: let the daemon's state
	// settle first, and after it for the next round (see settleGap).
	if err := e.settle(ctx, e.runtime.id, true); err != nil {
		return rt, err
	}
	if _, err := do(ctx, e.shimmed.client, http.MethodPost, container+"/unpause", nil, http.StatusNoContent, &buf); err != nil {
		return rt, fmt.Errorf("unpause through the shim: %w", err)
	}
	return rt, e.settle(ctx, e.runtime.id, false)
}

// pausedSince returns the time of the first pause event at or after sent:
// an earlier one is an earlier round's (the daemon may log a pause twice).
func pausedSince(ctx context.Context, sent time.Time, msgs <-chan events.Message, errs <-chan error) (time.Time, error) {
	bound := time.NewTimer(stateBound)
	defer bound.Stop()
	for {
		select {
		case m := <-msgs:
			if t := time.Unix(0, m.TimeNano); !t.Before(sent) {
				return t, nil
			}
		case err := <-errs:
			return time.Time{}, fmt.Errorf("the daemon's event stream: %w", err)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-bound.C:
			return time.Time{}, errors.New("the daemon did not pause the container within " + stateBound.String() + " of done")
		}
	}
}

func printReclaim(w io.Writer, rep *reclaimReport, pass *passReport) {
	const lw = 52
	measured := rep.DoneToPause.Samples
	fmt.Fprintf(w, "\nReclaim lag: %d rounds of POST /run %s, pause through the shim (deferred: 204 at once), "+
		"await done, the daemon's real pause, unpause through the shim\n\n", rep.Rounds, rep.Run)
	statsHeader(w, lw, "interval")
	statsRow(w, lw, "done → real pause (the lag)", rep.DoneToPause)
	statsRow(w, lw, "await returned → real pause (underestimate)", rep.AwaitToPause)
	statsRow(w, lw, "done → await returned (await's own latency)", rep.DoneToAwait)
	statsRow(w, lw, "the shim answers the deferred pause", rep.PauseAnswer)
	if pass != nil {
		for _, r := range pass.Rows {
			if r.Call == "pause_runtime" && r.Path == "direct" {
				fmt.Fprintf(w, "for scale: the daemon's own pause of the idle runtime container, direct, p50 %s\n", benchstat.FormatMicros(r.P50Us))
			}
		}
	}
	fmt.Fprintf(w, "rounds measured %d, not deferred (paused before the shim answered; left out) %d, failed %d\n",
		measured, rep.NotDeferred, rep.Errors)
	fmt.Fprintln(w, "clocks:")
	for _, c := range clocks {
		fmt.Fprintln(w, "  "+c)
	}
	for _, x := range rep.ErrorExamples {
		fmt.Fprintln(w, "error: "+x)
	}
}
