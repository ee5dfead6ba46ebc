package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/epilogue-dev/epilogue/sdk"
)

// keyPrefix names the hash each activation writes.
const keyPrefix = "epilogue:pair:"

type params struct {
	ID      string `json:"id"`
	Value   string `json:"value"`
	Redis   string `json:"redis"`
	DelayMs int    `json:"delay_ms"`
	WorkMs  int    `json:"work_ms"`
	SpanMs  int    `json:"span_ms"`
}

var (
	mu      sync.Mutex
	current string        // guarded by mu: the paper's global, the last value an activation set
	rdb     *redis.Client // guarded by mu: one client for the life of the process
	rdbAddr string        // guarded by mu
	// changed is closed when a later activation sets the value (and
	// replaced); guarded by mu.
	changed = make(chan struct{})
)

// set makes v the current value and returns the client for addr and a
// channel closed once a later activation sets another.
func set(v, addr string) (*redis.Client, <-chan struct{}) {
	mu.Lock()
	defer mu.Unlock()
	current = v
	close(changed)
	changed = make(chan struct{})
	if rdb == nil || rdbAddr != addr {
		rdb, rdbAddr = redis.NewClient(&redis.Options{Addr: addr}), addr
	}
	return rdb, changed
}

func currentValue() string {
	mu.Lock()
	defer mu.Unlock()
	return current
}

// hash is what a pair's hash field must be for its value.
func hash(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:8])
}

func handle(ctx context.Context, in params) (map[string]string, error) {
	if in.ID == "" || in.Value == "" || in.Redis == "" {
		return nil, errors.New(`"id", "value" and "redis" are required`)
	}
	client, later := set(in.Value, in.Redis)
	mine := hash(in.Value)
	delay := time.Duration(in.DelayMs) * time.Millisecond
	span := time.Duration(in.SpanMs) * time.Millisecond
	sdk.Go(ctx, "write the pair", func(ctx context.Context) error {
		if err := wait(ctx, delay, nil); err != nil {
			return err
		}
		// The write spans up to span: as a batching writer, it flushes at
		// once when the next event changes the value. Where the instance
		// runs no later event before the work is done, it writes its own
		// value after span; where a later event runs while it is pending,
		// it writes that event's value next to its own hash, whatever the
		// machine's speed.
		if err := wait(ctx, span, later); err != nil {
			return err
		}
		return client.HSet(ctx, keyPrefix+in.ID, "value", currentValue(), "hash", mine).Err()
	})
	// The handler's own work before it answers: the instance runs for this
	// long, so an earlier activation's leftover, thawed for this event,
	// gets the time to resume and write. Without it a platform that freezes
	// the instance right after each response lets a leftover run only for
	// the instant between an unpause and the next response, too short for
	// a Redis round trip, and it never shows.
	if err := wait(ctx, time.Duration(in.WorkMs)*time.Millisecond, nil); err != nil {
		return nil, err
	}
	return map[string]string{"accepted": in.Value}, nil
}

// wait waits for d, or until early is closed; it fails when ctx ends.
func wait(ctx context.Context, d time.Duration, early <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-early:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func main() { sdk.Run(handle, sdk.IgnoreGoroutines("github.com/redis/go-redis/")) }
