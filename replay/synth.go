package replay

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// SyntheticConfig sizes a synthetic trace.
type SyntheticConfig struct {
	Seed      uint64
	Days      int
	Functions int // DefaultFunctions when 0
}

// DefaultFunctions is the synthetic trace's size: enough of each kind for
// per-application percentiles, small enough to simulate a week in seconds.
const DefaultFunctions = 200

// The synthetic mix: each function is one kind, drawn with these shares
// (Shahrad et al. find timers, HTTP and queues dominant, and most functions
// rarely called). Each kind stands for one shape of idle times.
var mix = []struct {
	kind    string
	share   float64
	trigger string
}{
	{"timer", 0.20, "timer"},  // every 1–60 min at a fixed phase: idle-time CV ≈ 0
	{"poisson", 0.25, "http"}, // Poisson, 0.01–1 calls/min: CV ≈ 1
	{"bursty", 0.15, "queue"}, // bursts of 1–8 calls/min lasting ~10 min, every 1–6 h: CV > 1
	{"diurnal", 0.25, "http"}, // Poisson whose rate follows the time of day (a Gaussian around a peak hour 08–18 h)
	{"rare", 0.15, "event"},   // single calls more than 4 h apart (4 h + exponential, mean 6 h)
}

// Synthetic generates a trace from cfg.Seed: the same seed, the same trace.
// Beyond the arrivals, each function draws its duration (50 ms–2 s), its
// cold-start cost (250 ms–2.5 s), its linger (60% of functions do
// post-response work of 200 ms–30 s, the others none; all log-uniform) and
// its app's memory (128–512 MB). About 60% of apps have one function.
func Synthetic(cfg SyntheticConfig) *Trace {
	if cfg.Functions == 0 {
		cfg.Functions = DefaultFunctions
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	t := &Trace{Days: cfg.Days}
	minutes := cfg.Days * MinutesPerDay
	hash := func() string { return fmt.Sprintf("%016x", rng.Uint64()) }
	owner, app, appMB := "", "", 0
	for i := range cfg.Functions {
		if i == 0 || rng.Float64() < 0.6 {
			owner, app, appMB = hash(), hash(), 128*(1+rng.IntN(4))
		}
		k := pick(rng)
		f := Function{Owner: owner, App: app, Name: hash(), Trigger: mix[k].trigger, MemoryMB: appMB,
			Duration:  logUniform(rng, 50*time.Millisecond, 2*time.Second),
			ColdStart: logUniform(rng, 250*time.Millisecond, 2500*time.Millisecond)}
		if rng.Float64() < 0.6 {
			f.Linger = logUniform(rng, 200*time.Millisecond, 30*time.Second)
		}
		f.Counts = arrivals(rng, mix[k].kind, minutes)
		t.Functions = append(t.Functions, f)
	}
	return t
}

// Kinds are the synthetic trace's kinds of function, in the mix's order.
func Kinds() []string {
	out := make([]string, len(mix))
	for i, m := range mix {
		out[i] = m.kind
	}
	return out
}

func pick(rng *rand.Rand) int {
	x := rng.Float64()
	for i, m := range mix {
		if x < m.share {
			return i
		}
		x -= m.share
	}
	return len(mix) - 1
}

// arrivals draws a kind's per-minute counts.
func arrivals(rng *rand.Rand, kind string, minutes int) []int {
	c := make([]int, minutes)
	switch kind {
	case "timer":
		periods := []int{1, 2, 5, 10, 15, 30, 60}
		p := periods[rng.IntN(len(periods))]
		for m := rng.IntN(p); m < minutes; m += p {
			c[m] = 1
		}
	case "poisson":
		rate := math.Exp(uniform(rng, math.Log(0.01), math.Log(1)))
		for m := range c {
			c[m] = poisson(rng, rate)
		}
	case "bursty":
		every := uniform(rng, 60, 360) // minutes between bursts, on average
		rate := uniform(rng, 1, 8)
		left := 0
		for m := range c {
			if left == 0 && rng.Float64() < 1/every {
				left = 1 + int(rng.ExpFloat64()*10)
			}
			if left > 0 {
				c[m] = poisson(rng, rate)
				left--
			}
		}
	case "diurnal":
		peak, width, top := uniform(rng, 8, 18), uniform(rng, 1.5, 4), uniform(rng, 0.2, 3)
		for m := range c {
			h := math.Mod(float64(m)/60, 24)
			d := math.Min(math.Abs(h-peak), 24-math.Abs(h-peak))
			c[m] = poisson(rng, top*math.Exp(-d*d/(2*width*width)))
		}
	case "rare":
		for m := int(rng.ExpFloat64() * 6 * 60); m < minutes; m += 4*60 + 1 + int(rng.ExpFloat64()*6*60) {
			c[m] = 1
		}
	}
	return c
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }

func logUniform(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return time.Duration(math.Exp(uniform(rng, math.Log(float64(lo)), math.Log(float64(hi))))).Round(time.Millisecond)
}

// poisson draws a Poisson count of mean rate (Knuth's method: the rates
// here are small).
func poisson(rng *rand.Rand, rate float64) int {
	if rate <= 0 {
		return 0
	}
	limit, p, n := math.Exp(-rate), rng.Float64(), 0
	for p > limit {
		p *= rng.Float64()
		n++
	}
	return n
}
