package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/epilogue-dev/epilogue/sdk"
)

// Keys written.
const (
	listPrefix = "epilogue:durable:"      // + id: one entry per run that applied the write
	oncePrefix = "epilogue:durable-once:" // + task id: the write was applied
)

// step is how much of the pause is slept between two checkpoints.
const step = 100 * time.Millisecond

type params struct {
	ID      string `json:"id"`
	Redis   string `json:"redis"`
	DelayMs int    `json:"delay_ms"`
}

// progress is the task's checkpoint: how much of the pause is slept.
type progress struct {
	SleptMs int `json:"slept_ms"`
}

// writeScript applies the write once per task id, stamped with Redis' clock.
var writeScript = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX') then
	local t = redis.call('TIME')
	local ms = t[1] * 1000 + math.floor(t[2] / 1000)
	return redis.call('RPUSH', KEYS[2], ARGV[1] .. '|' .. ms)
end
return false`)

var (
	mu      sync.Mutex
	clients = map[string]*redis.Client{} // guarded by mu: one per address for the life of the process
)

func client(addr string) *redis.Client {
	mu.Lock()
	defer mu.Unlock()
	if clients[addr] == nil {
		clients[addr] = redis.NewClient(&redis.Options{Addr: addr})
	}
	return clients[addr]
}

// write is the durable task: the pause, checkpointed, then the write.
func write(ctx context.Context, p params) error {
	var done progress
	if _, err := sdk.LastCheckpoint(ctx, &done); err != nil {
		return err
	}
	for done.SleptMs < p.DelayMs {
		t := time.NewTimer(min(step, time.Duration(p.DelayMs-done.SleptMs)*time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err() // the deadline nears: continued from the checkpoint
		}
		done.SleptMs = min(done.SleptMs+int(step/time.Millisecond), p.DelayMs)
		if err := sdk.Checkpoint(ctx, done); err != nil {
			return err
		}
	}
	activation := ""
	if a := sdk.From(ctx); a != nil {
		activation = a.ID
	}
	err := writeScript.Run(ctx, client(p.Redis), []string{oncePrefix + sdk.TaskID(ctx), listPrefix + p.ID}, activation).Err()
	if errors.Is(err, redis.Nil) { // applied by an earlier run
		return nil
	}
	return err
}

func accept(ctx context.Context, p params) (map[string]string, error) {
	if p.ID == "" || p.Redis == "" {
		return nil, errors.New(`"id" and "redis" are required, e.g. {"id":"7","redis":"127.0.0.1:6379"}`)
	}
	task, err := sdk.Start(ctx, "write", p) // the intent is durable when Start returns
	if err != nil {
		return nil, err // not acknowledged
	}
	return map[string]string{"acknowledged": p.ID, "task": task}, nil
}

func main() {
	sdk.Task("write", write, sdk.Attempts(10), sdk.Backoff(100*time.Millisecond))
	sdk.Run(accept, sdk.IgnoreGoroutines("github.com/redis/go-redis/"))
}
