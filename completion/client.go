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

// Status returns the runtime's current snapshot (GET /epilogue/status).
func (c *Client) Status(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	_, err := c.get(ctx, "/epilogue/status", &s)
	return s, err
}

// AwaitQuiescent blocks until the runtime has nothing running or pending, at
// most timeout, and returns its snapshot. If the timeout passes first it
// returns the snapshot as it stands and ErrNotDone.
func (c *Client) AwaitQuiescent(ctx context.Context, timeout time.Duration) (Snapshot, error) {
	var body struct {
		Snapshot
		Error string `json:"error"`
	}
	status, err := c.get(ctx, "/epilogue/await?timeout="+url.QueryEscape(timeout.String()), &body)
	if status == http.StatusGatewayTimeout {
		return body.Snapshot, fmt.Errorf("%w: %s", ErrNotDone, body.Error)
	}
	return body.Snapshot, err
}

// Await blocks until activation id is terminal, at most timeout, and returns
// its record. If the timeout passes first it returns the record as it stands
// and ErrNotDone.
func (c *Client) Await(ctx context.Context, id string, timeout time.Duration) (Activation, error) {
	var body struct {
		Activation
		Error   string      `json:"error"`
		Pending *Activation `json:"activation"`
	}
	q := url.Values{"activation": {id}, "timeout": {timeout.String()}}
	status, err := c.get(ctx, "/epilogue/await?"+q.Encode(), &body)
	if status == http.StatusGatewayTimeout {
		rec := Activation{}
		if body.Pending != nil {
			rec = *body.Pending
		}
		return rec, fmt.Errorf("%w: %s", ErrNotDone, body.Error)
	}
	return body.Activation, err
}

// get decodes a JSON answer into v. A 504 is decoded too (it carries the
// state so far) and returned with its status for the caller to interpret.
func (c *Client) get(ctx context.Context, path string, v any) (int, error) {
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
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusGatewayTimeout {
		return resp.StatusCode, fmt.Errorf("completion: %s%s answered %s: %s", c.BaseURL, path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return resp.StatusCode, fmt.Errorf("completion: %s%s answered something that is not a completion status: %w", c.BaseURL, path, err)
	}
	return resp.StatusCode, nil
}
