package live

import (
	"context"
	"time"

	"github.com/epilogue-dev/epilogue/internal/ctxtime"
	"github.com/epilogue-dev/epilogue/sdk"
)

// actionParams are a call's: how long it runs to its response, and how
// long its post-response work (tracked) lasts, in wall milliseconds.
type actionParams struct {
	DurationMs float64 `json:"duration_ms"`
	LingerMs   float64 `json:"linger_ms"`
}

// ServeAction serves the replay's action until the proxy closes stdin, then
// exits the process: each call sleeps its duration_ms, answers, and keeps
// tracked work going for linger_ms, so the pool holds the container
// lingering until it is done. The program that runs it (epilogue
// replay-action; a test binary) is what Config.Action names.
func ServeAction() {
	sdk.Run(func(ctx context.Context, in actionParams) (map[string]any, error) {
		if err := ctxtime.Sleep(ctx, millis(in.DurationMs)); err != nil {
			return nil, err
		}
		if in.LingerMs > 0 {
			sdk.Go(ctx, "linger", func(ctx context.Context) error { return ctxtime.Sleep(ctx, millis(in.LingerMs)) })
		}
		return map[string]any{"ok": true}, nil
	})
}

func millis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
