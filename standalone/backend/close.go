package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// WaitCreates waits, within ctx, for the Creates counted by creating to
// return; a backend's Close calls it after refusing new Creates, so that no
// container appears once it has removed them all.
func WaitCreates(ctx context.Context, creating *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		creating.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for containers being created: %w", ctx.Err())
	}
}

// RemoveAll removes the containers in parallel and joins their errors.
func RemoveAll[C Container](ctx context.Context, containers []C) error {
	errs := make([]error, len(containers))
	var wg sync.WaitGroup
	for i, c := range containers {
		wg.Go(func() { errs[i] = c.Remove(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
