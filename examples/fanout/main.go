// Command fanout answers at once and then writes n Redis keys in parallel.
// It shows the explicit done callback (the paper's end()): the handler takes
// done := sdk.Done(ctx), and the activation ends only when done() is called,
// here by a piece of tracked work that waits for every write.
//
//	{"id":"x","n":5} → {"accepted":true,"writes":5}, then SET epilogue:fanout:x:0 … epilogue:fanout:x:4 to 1
//
// Parameters: id (required); n, the number of writes (default 5, at most
// 1000); redis, the server's host:port (else the REDIS_ADDR environment
// variable, else 127.0.0.1:6379); delay_ms, a pause before each write that
// simulates slow I/O; gate, a URL each write waits for after delay_ms (a GET
// that answers 2xx), with which a test holds the writes in flight until it
// opens the gate.
//
// Deploy it with:
//
//	epilogue build examples/fanout -o fanout.zip && wsk action create fanout --docker epilogue/action-go fanout.zip
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/examples/internal/gate"
	"github.com/epilogue-dev/epilogue/examples/internal/redisclient"
	"github.com/epilogue-dev/epilogue/sdk"
)

const (
	keyPrefix = "epilogue:fanout:"
	defaultN  = 5
	maxN      = 1000
)

type params struct {
	ID      string `json:"id"`
	N       int    `json:"n"`
	Redis   string `json:"redis"`
	DelayMs int    `json:"delay_ms"`
	Gate    string `json:"gate"`
}

type result struct {
	Accepted bool `json:"accepted"`
	Writes   int  `json:"writes"`
}

func fanout(ctx context.Context, in params) (result, error) {
	n := in.N
	if n == 0 {
		n = defaultN
	}
	// Check everything before asking for done: once taken, the activation
	// waits for done() until its deadline.
	if in.ID == "" {
		return result{}, errors.New(`the "id" parameter is required, e.g. {"id":"x","n":5}`)
	}
	if n < 0 || n > maxN {
		return result{}, fmt.Errorf(`"n" must be between 1 and %d, not %d`, maxN, n)
	}

	done := sdk.Done(ctx) // the activation is not done until done() is called
	rdb, delay := redisclient.For(in.Redis), time.Duration(in.DelayMs)*time.Millisecond
	var writes sync.WaitGroup
	for i := range n {
		key := keyPrefix + in.ID + ":" + strconv.Itoa(i)
		writes.Add(1)
		sdk.Go(ctx, "redis SET "+key, func(ctx context.Context) error {
			defer writes.Done()
			if err := sleep(ctx, delay); err != nil {
				return err
			}
			if err := gate.Pass(ctx, in.Gate); err != nil {
				return err
			}
			return rdb.Set(ctx, key, "1", 0).Err()
		})
	}
	sdk.Go(ctx, "wait for the writes", func(context.Context) error {
		writes.Wait()
		done() // every write has landed: this activation is finished
		return nil
	})
	return result{Accepted: true, Writes: n}, nil
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func main() {
	// go-redis runs background goroutines per client (its pool's
	// maintenance); they belong to the process, not to an activation.
	sdk.Run(fanout, sdk.IgnoreGoroutines("github.com/redis/go-redis/"))
}
