// Command traceaction is a test fixture, not a product: an action built with
// the SDK for the tracing tests. It answers {"traceparent": sdk.TraceParent},
// then, as tracked work named "write", GETs the URL in its "gate" parameter
// through the SDK's tracked HTTP client (which sends the traceparent) and
// ends when the gate answers: the test holds the work in flight with it.
// A gate that answers an error status fails the work.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/epilogue-dev/epilogue/sdk"
)

type params struct {
	Gate string `json:"gate"`
}

func main() {
	sdk.Run(func(ctx context.Context, in params) (map[string]string, error) {
		sdk.Go(ctx, "write", func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.Gate, nil)
			if err != nil {
				return err
			}
			resp, err := sdk.HTTPClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode >= 300 {
				return fmt.Errorf("the gate answered %s", resp.Status)
			}
			return nil
		})
		return map[string]string{"traceparent": sdk.TraceParent(ctx)}, nil
	})
}
