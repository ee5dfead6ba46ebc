package replay

import "time"

// MinutesPerDay is the number of per-minute columns of an invocations file.
const MinutesPerDay = 1440

// Defaults for what a dataset does not say.
const (
	DefaultDuration  = time.Second
	DefaultColdStart = time.Second
	DefaultMemoryMB  = 256
)

// Trace is a replayable workload: Days days of per-minute invocation counts.
type Trace struct {
	Days      int
	Functions []Function
}

// Function is one function of a trace.
type Function struct {
	Owner, App, Name, Trigger string
	// Counts are the invocations per minute, Days × 1440 of them.
	Counts    []int
	Duration  time.Duration // the mean execution time, to the response
	Linger    time.Duration // the post-response work of each call
	ColdStart time.Duration
	MemoryMB  int
}

// Key identifies the function across the dataset's files.
func (f *Function) Key() string { return f.Owner + "/" + f.App + "/" + f.Name }

// AppKey identifies its application.
func (f *Function) AppKey() string { return f.Owner + "/" + f.App }

// Invocations is the function's total number of calls.
func (f *Function) Invocations() int { return invocations(f.Counts) }
