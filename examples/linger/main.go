// Command linger answers at once and keeps working after its response: the
// work is started with sdk.Go, so the platform reclaims the instance only
// when it has finished (or at the deadline, when its context is cancelled).
//
//	{"linger_ms":1500} → {"accepted":true}, then 1.5 s of tracked work
//
// linger_ms defaults to 1000. gate, a URL, makes the work also wait for a
// GET of it to answer 2xx, after linger_ms: a test holds the work in flight
// with it until it opens the gate. When the work finishes it logs through
// sdk.Logger, whose lines carry the activation id, so a line written after the
// response is still attributed to its activation.
//
// Deploy it with:
//
//	epilogue build examples/linger -o linger.zip && wsk action create linger --docker epilogue/action-go linger.zip
package main

import (
	"context"
	"time"

	"github.com/epilogue-dev/epilogue/examples/internal/gate"
	"github.com/epilogue-dev/epilogue/sdk"
)

const defaultLinger = 1000 // ms

type params struct {
	LingerMs int    `json:"linger_ms"`
	Gate     string `json:"gate"`
}

func linger(ctx context.Context, in params) (map[string]bool, error) {
	ms := in.LingerMs
	if ms <= 0 {
		ms = defaultLinger
	}
	d := time.Duration(ms) * time.Millisecond
	sdk.Go(ctx, "sleep "+d.String(), func(ctx context.Context) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done(): // the deadline came first
			return ctx.Err()
		}
		if err := gate.Pass(ctx, in.Gate); err != nil {
			return err
		}
		sdk.Logger(ctx).Info("linger finished", "lingered", d)
		return nil
	})
	return map[string]bool{"accepted": true}, nil
}

func main() { sdk.Run(linger) }
