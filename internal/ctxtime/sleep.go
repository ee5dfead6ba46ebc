package ctxtime

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends, and then returns ctx's error: a
// caller that loops on it stops at its deadline instead of sleeping past it.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
