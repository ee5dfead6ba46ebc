package pool

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/backend/process"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// refusingRemovals injects a daemon that refuses removals into a real
// backend: each container's first `refusals` removals fail (-1: all of
// them); the real backend's Close still removes everything at the end.
type refusingRemovals struct {
	backend.Backend
	refusals int

	mu       sync.Mutex
	attempts map[string]int // container name → Remove calls
}

var errRefused = errors.New("injected: the daemon refused the removal")

func (b *refusingRemovals) Create(ctx context.Context, spec backend.Spec) (backend.Container, error) {
	c, err := b.Backend.Create(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &refusingContainer{Container: c, b: b}, nil
}

type refusingContainer struct {
	backend.Container
	b *refusingRemovals
}

func (c *refusingContainer) Remove(ctx context.Context) error {
	c.b.mu.Lock()
	c.b.attempts[c.Name()]++
	n := c.b.attempts[c.Name()]
	c.b.mu.Unlock()
	if c.b.refusals < 0 || n <= c.b.refusals {
		return errRefused
	}
	return c.Container.Remove(ctx)
}

// TestRemovalRetriedAndShutdownBounded: a refused removal is retried; one
// refused for good is given up, its log following ends anyway (Close waits
// for it), and Close reports it instead of hanging.
func TestRemovalRetriedAndShutdownBounded(t *testing.T) {
	proxy := testenv.BuildStatic(t, "./cmd/epilogue-proxy")
	exe, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)
	code := base64.StdEncoding.EncodeToString(exe)

	for _, tc := range []struct {
		name         string
		refusals     int
		wantAttempts int
		wantErr      string
	}{
		{name: "refused once, then removed", refusals: 1, wantAttempts: 2},
		{name: "refused for good", refusals: -1, wantAttempts: removeAttempts, wantErr: "was not removed after 3 attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			real, err := process.New(process.Config{ProxyPath: proxy, WorkDir: t.TempDir()})
			require.NoError(t, err)
			closeAtEnd(t, real) // removes what the pool gave up on
			be := &refusingRemovals{Backend: real, refusals: tc.refusals, attempts: map[string]int{}}
			st, err := store.Open(t.TempDir())
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, st.Close()) })
			p, err := New(Config{Backend: be, Store: st})
			require.NoError(t, err)

			a := entity.Action{
				Namespace: "guest", Name: "hello", Version: "0.0.1", Updated: 1,
				Exec:   entity.Exec{Kind: entity.KindBlackbox, Image: "epilogue/action-go", Code: code, Binary: true},
				Limits: entity.DefaultLimits(),
			}
			rec := run(t, p, a, `{"name":"Ada"}`)
			require.Equal(t, entity.StatusSuccess, rec.Response.Status)

			closed := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), activationBound)
				defer cancel()
				closed <- p.Close(ctx)
			}()
			var closeErr error
			select {
			case closeErr = <-closed:
			case <-time.After(2 * activationBound):
				t.Fatal("Close did not return: a refused removal held the shutdown")
			}
			if tc.wantErr == "" {
				assert.NoError(t, closeErr)
			} else {
				require.Error(t, closeErr)
				assert.Contains(t, closeErr.Error(), tc.wantErr)
				assert.ErrorIs(t, closeErr, errRefused)
			}
			be.mu.Lock()
			defer be.mu.Unlock()
			require.Len(t, be.attempts, 1, "one container was created")
			for name, n := range be.attempts {
				assert.Equal(t, tc.wantAttempts, n, "removals of %s", name)
			}
		})
	}
}
