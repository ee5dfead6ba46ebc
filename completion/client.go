package completion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ErrNotDone means an await ended before the activation or runtime was done.
var ErrNotDone = errors.New("completion: not done yet")

// maxBody caps what the client reads from a runtime; a status with its
// remembered activations is far smaller.
const maxBody = 8 << 20

// Client asks one runtime (an epilogue-proxy) for its completion state. The
// zero value is not usable; set BaseURL.
type Client struct {
	// BaseURL is the runtime's address, e.g. "http://10.0.0.5:8080".
	BaseURL string
	// HTTP is the client to use; nil = a client without keep-alive limits
	// beyond the per-call timeouts below.
	HTTP *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Status returns the runtime's current snapshot (StatusPath).
func (c *Client) Status(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	_, err := c.get(ctx, StatusPath, &s, nil)
	return s, err
}

// AwaitQuiescent blocks until the runtime has nothing running or pending, at
// most timeout, and returns its snapshot. If the timeout passes first it
// returns the snapshot as it stands and ErrNotDone.
func (c *Client) AwaitQuiescent(ctx context.Context, timeout time.Duration) (Snapshot, error) {
	var s Snapshot
	late := AwaitTimeout{Snapshot: &s}
	q := url.Values{AwaitTimeoutParam: {timeout.String()}}
	status, err := c.get(ctx, AwaitPath+"?"+q.Encode(), &s, &late)
	if status == http.StatusGatewayTimeout {
		return s, fmt.Errorf("%w: %s", ErrNotDone, late.Error)
	}
	return s, err
}

// Await blocks until activation id is terminal, at most timeout, and returns
// its record. If the timeout passes first it returns the record as it stands
// and ErrNotDone.
func (c *Client) Await(ctx context.Context, id string, timeout time.Duration) (Activation, error) {
	var rec Activation
	late := AwaitTimeout{Activation: &rec}
	q := url.Values{AwaitActivationParam: {id}, AwaitTimeoutParam: {timeout.String()}}
	status, err := c.get(ctx, AwaitPath+"?"+q.Encode(), &rec, &late)
	if status == http.StatusGatewayTimeout {
		return rec, fmt.Errorf("%w: %s", ErrNotDone, late.Error)
	}
	return rec, err
}

// get decodes a 200 answer into ok and, when late is not nil, a 504 (an
// AwaitTimeout: the state so far) into late; it returns the status for the
// caller to interpret.
func (c *Client) get(ctx context.Context, path string, ok, late any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return 0, fmt.Errorf("completion: %w", err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return 0, fmt.Errorf("completion: the runtime at %s did not answer: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("completion: reading %s%s: %w", c.BaseURL, path, err)
	}
	v := ok
	if resp.StatusCode == http.StatusGatewayTimeout && late != nil {
		v = late
	} else if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("completion: %s%s answered %s: %s", c.BaseURL, path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return resp.StatusCode, fmt.Errorf("completion: %s%s answered something that is not a completion status: %w", c.BaseURL, path, err)
	}
	return resp.StatusCode, nil
}
