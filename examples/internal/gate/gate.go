// Package gate lets a test hold an example's post-response work in flight
// until it decides to let it go: the examples wait at an optional gate URL
// the test serves (tests/testenv.Gate). Without a URL it does nothing.
package gate

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Pass waits until a GET of url answers 2xx, or ctx ends; "" is no gate.
func Pass(ctx context.Context, url string) error {
	if url == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("gate %s: %s", url, resp.Status)
	}
	return nil
}
