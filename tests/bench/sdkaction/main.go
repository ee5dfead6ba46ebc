// Command sdkaction is the benchmark's SDK action (tests/bench): an action
// written with package sdk that echoes its input. When the input has
// "work":true it also starts one trivial piece of tracked work (sdk.Go,
// returning nil at once), so that the response → done path is exercised;
// with "durable":true it starts one trivial durable task instead (sdk.Start:
// the intent is stored in the task store, EPILOGUE_TASKS_REDIS in the input,
// before the response), so that the two are measured side by side.
//
// Build it statically, as the runtime image runs it:
//
//	CGO_ENABLED=0 go build -o out/bench/sdkexec ./tests/bench/sdkaction
package main

import (
	"context"

	"github.com/epilogue-dev/epilogue/sdk"
)

func main() {
	sdk.Task("bench", func(context.Context, map[string]any) error { return nil })
	sdk.Run(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		if work, _ := in["work"].(bool); work {
			sdk.Go(ctx, "bench work", func(context.Context) error { return nil })
		}
		if durable, _ := in["durable"].(bool); durable {
			if _, err := sdk.Start(ctx, "bench", map[string]any{}); err != nil {
				return nil, err
			}
		}
		return in, nil
	})
}
