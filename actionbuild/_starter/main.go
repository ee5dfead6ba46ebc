package main

import (
	"context"
	"time"

	"github.com/epilogue-dev/epilogue/sdk"
)

type params struct {
	Name string `json:"name"`
}

func greet(ctx context.Context, in params) (map[string]string, error) {
	if in.Name == "" {
		in.Name = "world"
	}
	// Not done until done() is called, however early the response goes out.
	done := sdk.Done(ctx)
	// Tracked work: runs after the response; the platform keeps this instance
	// until it returns, and reports its error instead of losing it.
	sdk.Go(ctx, "save greeting", func(ctx context.Context) error {
		defer done()
		return save(ctx, in.Name)
	})
	return map[string]string{"greeting": "Hello, " + in.Name + "!"}, nil // answered now
}

// save stands for slow I/O (a database write, a queue publish): put yours here.
func save(ctx context.Context, name string) error {
	select {
	case <-time.After(100 * time.Millisecond):
		sdk.Logger(ctx).Info("saved", "name", name) // the log line carries activation=ID
		return nil
	case <-ctx.Done(): // the activation's deadline
		return ctx.Err()
	}
}

func main() { sdk.Run(greet) }
