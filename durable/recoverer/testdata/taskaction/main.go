// Command taskaction starts the durable task its input names. "held"
// (the default) holds at the test's gate (GET GATE/run-PID) until the test
// opens it, so a test can kill the container mid-task and see the task
// finish in a recovery activation. "long" checkpoints, then holds at
// GATE/long-0, which the test never opens, so the activation's deadline
// ends it; continued from the checkpoint it holds at GATE/long-1.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/epilogue-dev/epilogue/sdk"
)

type input struct {
	Gate string `json:"gate"`
	Task string `json:"task"`
}

// hold waits at the gate url until it opens or ctx ends.
func hold(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the gate answered %s", resp.Status)
	}
	return nil
}

func main() {
	sdk.Task("held", func(ctx context.Context, in input) error {
		return hold(ctx, in.Gate+"/run-"+strconv.Itoa(os.Getpid()))
	})
	sdk.Task("long", func(ctx context.Context, in input) error {
		var progress struct{ Step int }
		if _, err := sdk.LastCheckpoint(ctx, &progress); err != nil {
			return err
		}
		if progress.Step == 0 {
			if err := sdk.Checkpoint(ctx, struct{ Step int }{1}); err != nil {
				return err
			}
			return hold(ctx, in.Gate+"/long-0") // more than the time limit allows
		}
		return hold(ctx, in.Gate+"/long-1")
	})
	sdk.Run(func(ctx context.Context, in input) (map[string]any, error) {
		task := in.Task
		if task == "" {
			task = "held"
		}
		id, err := sdk.Start(ctx, task, in)
		return map[string]any{"taskId": id}, err
	})
}
