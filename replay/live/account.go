package live

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/replay"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/pool"
)

// account follows the pool's timeline: each container's states and when
// it entered them, from which idle, busy and lingering time are measured.
type account struct {
	r      *run
	scaled *keepalive.Scaled

	mu         sync.Mutex
	containers map[string]*container
	dropped    bool
}

// container is one container's history.
type container struct {
	fn    int // -1 before its action is known
	state string
	since time.Time
	spans []span
	// prewarmed: it became ready before it ran anything (the policy's
	// prewarm); used: it ran an activation.
	prewarmed, used bool
}

// span is a time in one state.
type span struct {
	state    string
	from, to time.Time
}

func newAccount(r *run, scaled *keepalive.Scaled, tl pool.Timeline) *account {
	a := &account{r: r, scaled: scaled, containers: map[string]*container{}}
	for _, c := range tl.Containers {
		a.apply(c)
	}
	return a
}

// follow applies the changes until the subscription ends.
func (a *account) follow(sub *pool.Subscription) {
	for ch := range sub.Changes() {
		a.mu.Lock()
		a.apply(ch.Container)
		a.mu.Unlock()
	}
	a.mu.Lock()
	a.dropped = sub.Dropped()
	a.mu.Unlock()
}

func (a *account) err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dropped {
		return errors.New("the pool's timeline outran the replay's accounting (a subscriber fell behind): the machine is too busy for this speed-up; lower it")
	}
	return nil
}

// apply records c's state, when it changed. a.mu is held (or a is not
// shared yet).
func (a *account) apply(c pool.ContainerTimeline) {
	x := a.containers[c.Name]
	if x == nil {
		x = &container{fn: -1}
		a.containers[c.Name] = x
	}
	if fn, ok := a.fnOf(c.Action); ok {
		x.fn = fn
	}
	if c.State == x.state && c.Since.Equal(x.since) {
		return
	}
	if x.state != "" {
		x.spans = append(x.spans, span{state: x.state, from: x.since, to: c.Since})
	}
	switch {
	case c.State == "ready" && !x.used && x.state == "starting":
		x.prewarmed = true
	case c.State == "busy":
		x.used = true
	}
	x.state, x.since = c.State, c.Since
}

// fnOf is the function of action "replay/fN".
func (a *account) fnOf(action string) (int, bool) {
	name, ok := strings.CutPrefix(action, "replay/f")
	if !ok {
		return 0, false
	}
	fn, err := strconv.Atoi(name)
	if err != nil || fn < 0 || fn >= len(a.r.t.Functions) {
		return 0, false
	}
	return fn, true
}

// State groups of the pool's timeline.
func idleState(s string) bool { return s == "ready" || s == "pausing" || s == "paused" }
func busyState(s string) bool { return s == "starting" || s == "busy" || s == "lingering" }

// result measures the run from the calls (trace time), their records (in
// the same order), the pool's counts and the window's end (wall time).
func (a *account) result(calls []call, records []entity.Activation, stats pool.Stats, end time.Time) replay.Result {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.r.t
	res := replay.Result{Policy: a.scaled.Name(), Calls: len(calls), Prewarms: int(stats.ActionPrewarms), Evictions: int(stats.Evictions)}
	buckets := replay.NewBuckets(len(t.Functions), a.r.cfg.Window)
	apps := replay.AppColdStarts{}
	for i, c := range calls {
		_, cold := records[i].Annotations.Get(entity.AnnotationInitTime)
		if cold {
			res.ColdStarts++
		}
		apps.Add(t.Functions[c.fn].AppKey(), cold)
		buckets.Called(c.fn, c.at, !cold)
	}
	var busy, linger, idle float64 // trace seconds
	for _, x := range a.containers {
		spans := x.spans
		if x.state != "removed" && x.state != "" {
			spans = append(spans, span{state: x.state, from: x.since, to: end})
		}
		if x.prewarmed && x.used {
			res.PrewarmHits++
		}
		for _, s := range spans {
			to := s.to
			if to.After(end) {
				to = end
			}
			if !to.After(s.from) {
				continue
			}
			sec := to.Sub(s.from).Seconds() * a.r.k
			switch {
			case idleState(s.state):
				idle += sec
				if x.fn >= 0 {
					res.WastedMemorySeconds += float64(t.Functions[x.fn].MemoryMB) * sec
					buckets.Held(x.fn, a.scaled.Virtual(s.from), a.scaled.Virtual(to))
				}
			case busyState(s.state):
				busy += sec
				if s.state == "lingering" {
					linger += sec
				}
			}
		}
	}
	if res.Calls > 0 {
		res.ColdStartRatio = float64(res.ColdStarts) / float64(res.Calls)
	}
	res.ColdStartRatioP75App = apps.P75()
	res.PrewarmAccuracy = buckets.PrewarmAccuracy()
	if total := busy + idle; total > 0 {
		res.LingerShare = linger / total
	}
	return res
}
