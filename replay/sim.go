package replay

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/epilogue-dev/epilogue/keepalive"
)

// Epoch is the virtual time of the trace's first minute: a midnight (UTC),
// so that the seasonal policy's time of day is the trace's.
var Epoch = time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC)

// Bucket is the prewarm accuracy's unit: the seed paper's 5 minutes.
const Bucket = 5 * time.Minute

// Config configures a simulation.
type Config struct {
	// MemoryMB is the memory budget of all instances; 0 = no limit.
	MemoryMB int
	// Until ends the replay this far into the trace (a live replay's
	// window: replay/live); 0 = the trace's days.
	Until time.Duration
}

// Result is one policy's outcome on one trace.
type Result struct {
	Policy string `json:"policy"`
	// ColdStartRatio is cold starts over calls; ColdStartRatioP75App the
	// 75th percentile of the applications' ratios (Shahrad et al.'s metric).
	ColdStartRatio       float64 `json:"coldStartRatio"`
	ColdStartRatioP75App float64 `json:"coldStartRatioP75App"`
	// WastedMemorySeconds is MB × seconds of idle, kept-alive or
	// prewarmed instances; MemoryVsFixed that over the fixed policy's.
	WastedMemorySeconds float64 `json:"wastedMemorySeconds"`
	MemoryVsFixed       float64 `json:"memoryVsFixed"`
	// PrewarmAccuracy compares, per function and 5-minute bucket, whether
	// the policy predicted the bucket active (held a warm instance: one the
	// bucket's first call found, or an idle one in a bucket without calls)
	// with whether it was: hits / (hits + false alarms + misses). Buckets
	// neither predicted nor active are left out: rare functions would
	// otherwise make every policy look right.
	PrewarmAccuracy float64 `json:"prewarmAccuracy"`
	// LingerShare is the share of instance time (busy or idle) spent on
	// post-response work: the time Epilogue's done-based idle time adds.
	LingerShare float64 `json:"lingerShare"`

	Calls      int `json:"calls"`
	ColdStarts int `json:"coldStarts"`
	Prewarms   int `json:"prewarms"`
	// PrewarmHits are prewarmed instances a call used.
	PrewarmHits int `json:"prewarmHits"`
	Evictions   int `json:"evictions"`
}

// Compare simulates t under each named policy, and under fixed too when it
// is not named, for MemoryVsFixed.
func Compare(t *Trace, names []string, cfg Config) ([]Result, error) {
	fixed, err := run(t, "fixed", cfg)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, n := range names {
		r := fixed
		if n != "fixed" {
			if r, err = run(t, n, cfg); err != nil {
				return nil, err
			}
		}
		if fixed.WastedMemorySeconds > 0 {
			r.MemoryVsFixed = r.WastedMemorySeconds / fixed.WastedMemorySeconds
		}
		out = append(out, r)
	}
	return out, nil
}

func run(t *Trace, name string, cfg Config) (Result, error) {
	p, err := keepalive.New(name)
	if err != nil {
		return Result{}, err
	}
	return Simulate(t, p, cfg), nil
}

// event kinds, in the order they run at one instant: an instance done at
// the instant of a call serves it; a prewarm due then does too; an
// instance expiring then is gone.
const (
	evDone = iota
	evPrewarm
	evMinute
	evCall
	evExpire
)

type event struct {
	at   time.Time
	kind int
	seq  int // insertion order: ties are broken deterministically
	fn   int
	inst *instance
	gen  int // an expiry or prewarm is void once its instance or function moved on
}

type events []*event

func (h events) Len() int { return len(h) }
func (h events) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	if h[i].kind != h[j].kind {
		return h[i].kind < h[j].kind
	}
	return h[i].seq < h[j].seq
}
func (h events) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *events) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// instance is one specialised container.
type instance struct {
	fn        int
	idle      bool
	idleSince time.Time
	keepUntil time.Time
	gen       int
	prewarmed bool // started by a prewarm, not yet used
}

// sim is one simulation's state.
type sim struct {
	t       *Trace
	p       keepalive.Policy
	cfg     Config
	end     time.Time
	q       events
	seq     int
	usedMB  int
	idle    [][]*instance // per function, the idle instances
	prewarm []int         // per function, the generation of its pending prewarm
	buckets Buckets
	appCold AppColdStarts
	r       Result
	wasted  float64 // MB·s
	busy    float64 // s
	linger  float64 // s
	idleSec float64 // s
}

// Simulate replays t against p on a virtual clock.
func Simulate(t *Trace, p keepalive.Policy, cfg Config) Result {
	end := time.Duration(t.Days) * 24 * time.Hour
	if cfg.Until > 0 {
		end = min(end, cfg.Until)
	}
	s := &sim{t: t, p: p, cfg: cfg, end: Epoch.Add(end),
		idle: make([][]*instance, len(t.Functions)), prewarm: make([]int, len(t.Functions)),
		buckets: NewBuckets(len(t.Functions), end), appCold: AppColdStarts{}, r: Result{Policy: p.Name()}}
	for i := range t.Functions {
		if m := s.nextMinute(i, 0); m >= 0 {
			s.push(&event{at: minuteAt(m), kind: evMinute, fn: i})
		}
	}
	for s.q.Len() > 0 {
		e := heap.Pop(&s.q).(*event)
		if !e.at.Before(s.end) {
			break
		}
		switch e.kind {
		case evMinute:
			s.minute(e)
		case evCall:
			s.call(e.fn, e.at)
		case evDone:
			s.done(e.inst, e.at)
		case evPrewarm:
			s.startPrewarm(e)
		case evExpire:
			if e.inst.idle && e.inst.gen == e.gen {
				s.release(e.inst, e.at)
				s.p.Released(s.t.Functions[e.inst.fn].Key(), e.at, keepalive.Expired)
			}
		}
	}
	for fn := range s.idle {
		for _, in := range slices.Clone(s.idle[fn]) {
			s.release(in, minTime(in.keepUntil, s.end))
		}
	}
	return s.result()
}

func minuteAt(m int) time.Time { return Epoch.Add(time.Duration(m) * time.Minute) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *sim) push(e *event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

// nextMinute is fn's first minute from m with calls, -1 if none.
func (s *sim) nextMinute(fn, m int) int {
	c := s.t.Functions[fn].Counts
	for ; m < len(c); m++ {
		if c[m] > 0 {
			return m
		}
	}
	return -1
}

// minute spreads a minute's calls evenly over it and schedules the
// function's next minute with calls: the queue holds a minute of calls per
// function, not the whole trace.
func (s *sim) minute(e *event) {
	m := int(e.at.Sub(Epoch) / time.Minute)
	n := s.t.Functions[e.fn].Counts[m]
	for i := range n {
		s.push(&event{at: e.at.Add(time.Minute * time.Duration(2*i+1) / time.Duration(2*n)), kind: evCall, fn: e.fn})
	}
	if next := s.nextMinute(e.fn, m+1); next >= 0 {
		s.push(&event{at: minuteAt(next), kind: evMinute, fn: e.fn})
	}
}

func (s *sim) call(fn int, at time.Time) {
	f := &s.t.Functions[fn]
	s.p.Arrival(f.Key(), at)
	s.r.Calls++
	var in *instance
	start := at
	if idle := s.idle[fn]; len(idle) > 0 {
		// The most recently idle: the others may then expire.
		in = idle[len(idle)-1]
		s.unidle(in, at)
		if in.prewarmed {
			s.r.PrewarmHits++
			in.prewarmed = false
		}
	} else {
		s.r.ColdStarts++
		s.makeRoom(f.MemoryMB, at, true)
		s.usedMB += f.MemoryMB
		in = &instance{fn: fn}
		start = at.Add(f.ColdStart)
	}
	s.appCold.Add(f.AppKey(), start != at)
	s.buckets.Called(fn, at, start == at)
	done := start.Add(f.Duration + f.Linger)
	s.busy += done.Sub(at).Seconds()
	s.linger += f.Linger.Seconds()
	s.push(&event{at: done, kind: evDone, inst: in})
}

func (s *sim) done(in *instance, at time.Time) {
	f := &s.t.Functions[in.fn]
	s.p.Done(f.Key(), at)
	d := s.p.Decide(f.Key(), at)
	if d.Prewarms() || !d.KeepUntil.After(at) {
		s.free(in)
		s.p.Released(f.Key(), at, keepalive.Expired)
	}
	if d.Prewarms() {
		// One pending prewarm per function: the latest decision wins.
		s.prewarm[in.fn]++
		s.push(&event{at: d.PrewarmAt, kind: evPrewarm, fn: in.fn, gen: s.prewarm[in.fn], inst: &instance{keepUntil: d.KeepUntil}})
		return
	}
	if !d.KeepUntil.After(at) {
		return
	}
	s.hold(in, at, d.KeepUntil)
}

// hold makes in idle from at until keepUntil.
func (s *sim) hold(in *instance, at, keepUntil time.Time) {
	in.idle, in.idleSince, in.keepUntil = true, at, keepUntil
	in.gen++
	s.idle[in.fn] = append(s.idle[in.fn], in)
	s.push(&event{at: keepUntil, kind: evExpire, inst: in, gen: in.gen})
}

func (s *sim) startPrewarm(e *event) {
	if e.gen != s.prewarm[e.fn] || !e.inst.keepUntil.After(e.at) {
		return
	}
	mb := s.t.Functions[e.fn].MemoryMB
	if !s.makeRoom(mb, e.at, false) {
		return
	}
	s.usedMB += mb
	s.r.Prewarms++
	in := &instance{fn: e.fn, prewarmed: true}
	s.hold(in, e.at, e.inst.keepUntil)
}

// unidle ends in's idle time at at: its memory was wasted meanwhile.
func (s *sim) unidle(in *instance, at time.Time) {
	in.idle = false
	in.gen++
	s.idle[in.fn] = slices.DeleteFunc(s.idle[in.fn], func(x *instance) bool { return x == in })
	sec := max(0, at.Sub(in.idleSince).Seconds())
	s.wasted += float64(s.t.Functions[in.fn].MemoryMB) * sec
	s.idleSec += sec
	s.buckets.Held(in.fn, in.idleSince, at)
}

// release ends an idle instance at at.
func (s *sim) release(in *instance, at time.Time) {
	s.unidle(in, at)
	s.free(in)
}

func (s *sim) free(in *instance) { s.usedMB -= s.t.Functions[in.fn].MemoryMB }

// makeRoom evicts idle instances until mb fits the budget; evict false (a
// prewarm) only checks. A call that cannot fit runs anyway: the platform
// would queue it, which this simulator does not model.
func (s *sim) makeRoom(mb int, at time.Time, evict bool) bool {
	if s.cfg.MemoryMB == 0 {
		return true
	}
	for s.usedMB+mb > s.cfg.MemoryMB {
		if !evict {
			return false
		}
		var cands []keepalive.Candidate
		var ins []*instance
		for fn, idle := range s.idle {
			f := &s.t.Functions[fn]
			for _, in := range idle {
				cands = append(cands, keepalive.Candidate{Fn: f.Key(), MemoryMB: f.MemoryMB, ColdStart: f.ColdStart, IdleSince: in.idleSince})
				ins = append(ins, in)
			}
		}
		if len(cands) == 0 {
			return false
		}
		victim := ins[s.p.Victim(at, cands)]
		s.release(victim, at)
		s.p.Released(s.t.Functions[victim.fn].Key(), at, keepalive.Evicted)
		s.r.Evictions++
	}
	return true
}

func (s *sim) result() Result {
	r := s.r
	r.WastedMemorySeconds = s.wasted
	if r.Calls > 0 {
		r.ColdStartRatio = float64(r.ColdStarts) / float64(r.Calls)
	}
	r.ColdStartRatioP75App = s.appCold.P75()
	r.PrewarmAccuracy = s.buckets.PrewarmAccuracy()
	if total := s.busy + s.idleSec; total > 0 {
		r.LingerShare = s.linger / total
	}
	return r
}

// percentile is the nearest-rank p-th percentile of xs (0 for none).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	i := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[max(0, i)]
}

// String is a one-line summary of r.
func (r Result) String() string {
	return fmt.Sprintf("%s: cold %.4f (p75 app %.4f), wasted %.0f MB·s (%.2f× fixed), accuracy %.3f, linger %.3f",
		r.Policy, r.ColdStartRatio, r.ColdStartRatioP75App, r.WastedMemorySeconds, r.MemoryVsFixed, r.PrewarmAccuracy, r.LingerShare)
}
