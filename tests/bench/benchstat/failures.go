package benchstat

import "fmt"

// MaxExamples is how many failures Failures keeps as examples.
const MaxExamples = 5

// Failures counts the failed requests of a mode, measured and warm-up
// apart, keeps the first few as examples for the report, and tells a broken
// target (a run of failures in a row) from a flaky one.
type Failures struct {
	Measured int
	Warmup   int
	Examples []string
	inARow   int
}

// OK records a success: a run of failures ends.
func (f *Failures) OK() { f.inARow = 0 }

// Add records err, the failure of request what (e.g. "request 17"). It
// returns an error once limit failures came in a row: the target is broken
// and the mode should end.
func (f *Failures) Add(measured bool, what string, err error, limit int) error {
	f.inARow++
	if measured {
		f.Measured++
	} else {
		f.Warmup++
	}
	if len(f.Examples) < MaxExamples {
		f.Examples = append(f.Examples, fmt.Sprintf("%s: %v", what, err))
	}
	if f.inARow >= limit {
		return fmt.Errorf("%d errors in a row, the last: %w", f.inARow, err)
	}
	return nil
}
