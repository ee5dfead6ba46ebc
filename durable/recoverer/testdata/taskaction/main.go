// Command taskaction starts a durable task that holds at the test's gate
// (GET GATE/run-PID) until the test opens it, so a test can kill the
// container mid-task and see the task finish in a recovery activation.
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
}

func main() {
	sdk.Task("held", func(ctx context.Context, in input) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.Gate+"/run-"+strconv.Itoa(os.Getpid()), nil)
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
	})
	sdk.Run(func(ctx context.Context, in input) (map[string]any, error) {
		id, err := sdk.Start(ctx, "held", in)
		return map[string]any{"taskId": id}, err
	})
}
