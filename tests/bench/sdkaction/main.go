// Command sdkaction is the benchmark's SDK action (tests/bench): an action
// written with package sdk that echoes its input. When the input has
// "work":true it also starts one trivial piece of tracked work (sdk.Go,
// returning nil at once), so that the response → done path is exercised.
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
	sdk.Run(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		if work, _ := in["work"].(bool); work {
			sdk.Go(ctx, "bench work", func(context.Context) error { return nil })
		}
		return in, nil
	})
}
