// Command durable-order takes an order, answers at once, and charges it in
// a durable task: the intent is in the task store before the answer goes
// out, and if the container dies before the charge is acknowledged, the
// task recoverer runs the charge again in a new activation.
//
//	{"id":"42","amount":30} → {"accepted":"42","task":"1712345678901-0"}
//	then, once: INCRBY epilogue:revenue:42 30
//
// Execution is at least once, so the charge makes its effect exactly once
// by keying it with the task's stable id: one Lua script sets
// epilogue:charge:TASK_ID (NX) and adds the amount only if it set it. A
// second run, after a crash between the effect and the acknowledgement,
// finds the key and adds nothing.
//
// Parameters: id and amount (required); redis, where the revenue is kept
// (else REDIS_ADDR, else 127.0.0.1:6379); delay_ms, a pause after the
// effect that stands for more slow work (the demo kills the container
// then); gate, a URL the charge waits for after its effect (a GET answering
// 2xx), with which a test holds the task between its effect and its
// acknowledgement. The task store is the
// action's EPILOGUE_TASKS_REDIS:
//
//	epilogue build examples/durable-order -o order.zip
//	wsk action create order --docker epilogue/action-go order.zip -p EPILOGUE_TASKS_REDIS 127.0.0.1:6379
//	epilogue standalone --tasks-redis 127.0.0.1:6379   # or: epilogue tasks recover ...
package main

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/epilogue-dev/epilogue/examples/internal/gate"
	"github.com/epilogue-dev/epilogue/examples/internal/redisclient"
	"github.com/epilogue-dev/epilogue/sdk"
)

type order struct {
	ID      string `json:"id"`
	Amount  int64  `json:"amount"`
	Redis   string `json:"redis,omitempty"`
	DelayMs int    `json:"delay_ms,omitempty"`
	Gate    string `json:"gate,omitempty"`
}

// Keys written.
const (
	chargePrefix  = "epilogue:charge:"  // + task id: the charge was applied
	revenuePrefix = "epilogue:revenue:" // + order id: the amount charged
)

// chargeScript applies the charge once per task id.
var chargeScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
	return redis.call('INCRBY', KEYS[2], ARGV[2])
end
return false`)

// charge is the durable task.
func charge(ctx context.Context, o order) error {
	rdb := redisclient.For(o.Redis)
	err := chargeScript.Run(ctx, rdb, []string{chargePrefix + sdk.TaskID(ctx), revenuePrefix + o.ID}, o.ID, o.Amount).Err()
	if err != nil && !errors.Is(err, redis.Nil) { // Nil: applied by an earlier run
		return err
	}
	if o.DelayMs > 0 {
		t := time.NewTimer(time.Duration(o.DelayMs) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return gate.Pass(ctx, o.Gate)
}

func accept(ctx context.Context, o order) (map[string]string, error) {
	if o.ID == "" || o.Amount <= 0 {
		return nil, errors.New(`"id" and a positive "amount" are required, e.g. {"id":"42","amount":30}`)
	}
	task, err := sdk.Start(ctx, "charge", o) // the intent is durable when Start returns
	if err != nil {
		return nil, err // the client hears that the order was not taken
	}
	return map[string]string{"accepted": o.ID, "task": task}, nil
}

func main() {
	sdk.Task("charge", charge, sdk.Attempts(5))
	sdk.Run(accept, sdk.IgnoreGoroutines("github.com/redis/go-redis/"))
}
