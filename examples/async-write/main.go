// Command async-write acknowledges a request at once and writes to Redis
// after its response: the write is tracked work (sdk.Go) under the
// activation's context, so the platform does not freeze or reuse the
// instance before the write has landed. This is the workload of the
// consistency suite: an acknowledged id must always end up written.
//
//	{"id":"42"} → {"acknowledged":"42"}, then SET epilogue:ack:42 1
//
// Parameters: id (required); redis, the server's host:port (else the
// REDIS_ADDR environment variable, e.g. from the action's init env, else
// 127.0.0.1:6379); delay_ms, a pause before the write that simulates slow
// I/O; sync, write before answering (the paper's Approach 1, for
// comparison); gate, a URL the write waits for after delay_ms (a GET that
// answers 2xx), with which a test holds the write in flight until it opens
// the gate.
//
// Deploy it with:
//
//	epilogue build examples/async-write -o async-write.zip && wsk action create async-write --docker epilogue/action-go async-write.zip
package main

import (
	"context"
	"errors"
	"time"

	"github.com/epilogue-dev/epilogue/examples/internal/gate"
	"github.com/epilogue-dev/epilogue/examples/internal/redisclient"
	"github.com/epilogue-dev/epilogue/sdk"
)

// keyPrefix is prepended to the id to name the key written.
const keyPrefix = "epilogue:ack:"

type params struct {
	ID      string `json:"id"`
	Redis   string `json:"redis"`
	DelayMs int    `json:"delay_ms"`
	Gate    string `json:"gate"`
	// Sync writes before answering: the paper's Approach 1 (respond only
	// when nothing is pending), the baseline Epilogue's latency is
	// compared with.
	Sync bool `json:"sync"`
}

type result struct {
	Acknowledged string `json:"acknowledged"`
}

func acknowledge(ctx context.Context, in params) (result, error) {
	if in.ID == "" {
		return result{}, errors.New(`the "id" parameter is required, e.g. {"id":"42"}`)
	}
	ack := result{Acknowledged: in.ID}
	rdb, key, delay := redisclient.For(in.Redis), keyPrefix+in.ID, time.Duration(in.DelayMs)*time.Millisecond
	write := func(ctx context.Context) error {
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		if err := gate.Pass(ctx, in.Gate); err != nil {
			return err
		}
		return rdb.Set(ctx, key, "1", 0).Err()
	}
	if in.Sync {
		return ack, write(ctx)
	}
	sdk.Respond(ctx, ack) // the acknowledgement goes out now; the write follows it
	sdk.Go(ctx, "redis SET "+key, write)
	return ack, nil
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
	sdk.Run(acknowledge, sdk.IgnoreGoroutines("github.com/redis/go-redis/"))
}
