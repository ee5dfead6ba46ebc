package replay

import "time"

// Buckets records, per function and 5-minute bucket, whether a call came,
// whether the bucket's first call found a warm instance, and whether an
// idle instance was held: what PrewarmAccuracy compares. The simulator
// and the live replay (replay/live) both fill one.
type Buckets [][]uint8

// bucket flags.
const (
	bActive    = 1 << iota // a call came
	bWarmFirst             // the first call found a warm instance
	bIdleHeld              // an idle instance was held
)

// NewBuckets returns the buckets of functions functions over span from Epoch.
func NewBuckets(functions int, span time.Duration) Buckets {
	b := make(Buckets, functions)
	for i := range b {
		b[i] = make([]uint8, int(span/Bucket))
	}
	return b
}

func bucketOf(at time.Time) int { return int(at.Sub(Epoch) / Bucket) }

// Called records a call of fn at at, warm or cold.
func (b Buckets) Called(fn int, at time.Time, warm bool) {
	i := bucketOf(at)
	if i < 0 || i >= len(b[fn]) {
		return
	}
	if b[fn][i]&bActive == 0 && warm {
		b[fn][i] |= bWarmFirst
	}
	b[fn][i] |= bActive
}

// Held records an idle instance of fn held from from to to.
func (b Buckets) Held(fn int, from, to time.Time) {
	for i := max(bucketOf(from), 0); i <= bucketOf(to) && i < len(b[fn]); i++ {
		b[fn][i] |= bIdleHeld
	}
}

// PrewarmAccuracy is hits / (hits + false alarms + misses); see
// Result.PrewarmAccuracy.
func (b Buckets) PrewarmAccuracy() float64 {
	var hit, alarm, miss int
	for _, fb := range b {
		for _, x := range fb {
			switch {
			case x&bActive != 0 && x&bWarmFirst != 0:
				hit++
			case x&bActive != 0:
				miss++
			case x&bIdleHeld != 0:
				alarm++
			}
		}
	}
	if n := hit + alarm + miss; n > 0 {
		return float64(hit) / float64(n)
	}
	return 0
}

// AppColdStarts counts calls and cold starts per application.
type AppColdStarts map[string][2]int

// Add counts a call of app.
func (a AppColdStarts) Add(app string, cold bool) {
	c := a[app]
	c[0]++
	if cold {
		c[1]++
	}
	a[app] = c
}

// P75 is the 75th percentile of the applications' cold-start ratios.
func (a AppColdStarts) P75() float64 {
	var ratios []float64
	for _, c := range a {
		ratios = append(ratios, float64(c[1])/float64(c[0]))
	}
	return percentile(ratios, 0.75)
}
