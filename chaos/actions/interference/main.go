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
}

var (
	mu      sync.Mutex
	current string        // guarded by mu: the paper's global, the last value an activation set
	rdb     *redis.Client // guarded by mu: one client for the life of the process
	rdbAddr string        // guarded by mu
)

// set makes v the current value and returns the client for addr.
func set(v, addr string) *redis.Client {
	mu.Lock()
	defer mu.Unlock()
	current = v
	if rdb == nil || rdbAddr != addr {
		rdb, rdbAddr = redis.NewClient(&redis.Options{Addr: addr}), addr
	}
	return rdb
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
	client, mine := set(in.Value, in.Redis), hash(in.Value)
	delay := time.Duration(in.DelayMs) * time.Millisecond
	sdk.Go(ctx, "write the pair", func(ctx context.Context) error {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		return client.HSet(ctx, keyPrefix+in.ID, "value", currentValue(), "hash", mine).Err()
	})
	// The handler's own work before it answers: the instance runs for this
	// long, so an earlier activation's leftover, thawed for this event,
	// gets the time to resume and write. Without it a platform that freezes
	// the instance right after each response lets a leftover run only for
	// the instant between an unpause and the next response, too short for
	// a Redis round trip, and it never shows.
	if in.WorkMs > 0 {
		t := time.NewTimer(time.Duration(in.WorkMs) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return map[string]string{"accepted": in.Value}, nil
}

func main() { sdk.Run(handle, sdk.IgnoreGoroutines("github.com/redis/go-redis/")) }
