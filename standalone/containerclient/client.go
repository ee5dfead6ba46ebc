package containerclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/epilogue-dev/epilogue/completion"
)

// traceContext is W3C Trace Context: the traceparent header.
var traceContext propagation.TraceContext

// Defaults for a Client.
const (
	// InitRetryInterval is the pause between /init attempts while the
	// container refuses connections (the invoker's 50 ms).
	InitRetryInterval = 50 * time.Millisecond
	// DefaultMaxBody is OpenWhisk's payload limit (whisk.activation.payload.max,
	// 1 MiB): a longer answer is reported truncated.
	DefaultMaxBody = 1 << 20
	// dialTimeout bounds one TCP connect; the time limit bounds the retries.
	dialTimeout = 5 * time.Second
)

// Errors callers branch on.
var (
	// ErrTimeout: the container did not answer within the time limit.
	ErrTimeout = errors.New("containerclient: no answer within the time limit")
	// ErrUnreachable: the connection failed or broke before an answer (the
	// container is gone or its proxy died).
	ErrUnreachable = errors.New("containerclient: the container cannot be reached")
)

// InitRequest is the "value" of an /init body.
type InitRequest struct {
	Name   string `json:"name"`
	Main   string `json:"main"`
	Binary bool   `json:"binary"`
	Code   string `json:"code,omitempty"`
	// Env holds the action's init parameters and the __OW_* context
	// variables of the activation that caused the init.
	Env map[string]string `json:"env,omitempty"`
}

// RunRequest is a /run body. Value is the activation's parameters.
type RunRequest struct {
	Value         json.RawMessage
	Namespace     string
	ActionName    string // "/ns/act" or "/ns/pkg/act"
	ActionVersion string
	ActivationID  string
	TransactionID string
	Deadline      time.Time
	APIKey        string // "" = not provided
}

// MarshalJSON writes the field names the runtimes expect; deadline is epoch
// milliseconds as a string.
func (r RunRequest) MarshalJSON() ([]byte, error) {
	value := r.Value
	if len(bytes.TrimSpace(value)) == 0 {
		value = json.RawMessage("{}")
	}
	return json.Marshal(struct {
		Value         json.RawMessage `json:"value"`
		Namespace     string          `json:"namespace"`
		ActionName    string          `json:"action_name"`
		ActionVersion string          `json:"action_version"`
		ActivationID  string          `json:"activation_id"`
		TransactionID string          `json:"transaction_id"`
		Deadline      string          `json:"deadline"`
		APIKey        string          `json:"api_key,omitempty"`
	}{value, r.Namespace, r.ActionName, r.ActionVersion, r.ActivationID, r.TransactionID,
		strconv.FormatInt(r.Deadline.UnixMilli(), 10), r.APIKey})
}

// Reply is what a container answered.
type Reply struct {
	StatusCode int
	// Body is the answer, at most the client's MaxBody bytes.
	Body []byte
	// Length is the answer's full length; Length > len(Body) means it was
	// truncated.
	Length int64
	// Phase is the completion.HeaderPhase value: completion.PhaseDone,
	// completion.PhaseResponded when work continues, "" from a runtime that
	// does not track completion.
	Phase completion.Phase
	// Elapsed is the time from sending the request to the end of the answer,
	// including /init's retries.
	Elapsed time.Duration
}

// OK reports a 200 answer.
func (r Reply) OK() bool { return r.StatusCode == http.StatusOK }

// Truncated reports an answer longer than the client's MaxBody.
func (r Reply) Truncated() bool { return r.Length > int64(len(r.Body)) }

// Config configures a Client; the zero value of each field is its default.
type Config struct {
	// MaxBody caps the answer kept; 0 = DefaultMaxBody.
	MaxBody int
}

// Client talks to one container. It keeps connections alive between calls,
// as the invoker's pooled client does; Close drops them.
type Client struct {
	base    string
	maxBody int
	tr      *http.Transport
	hc      *http.Client
}

// New returns a client of the container whose proxy serves at addr (host:port).
func New(addr string, cfg Config) *Client {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &Client{base: "http://" + addr, maxBody: cfg.MaxBody, tr: tr, hc: &http.Client{Transport: tr}}
}

// Close drops the idle connections (call it when the container is removed).
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// Init sends /init, retrying while the container refuses connections, all
// within timeout. A non-200 answer is a Reply, not an error.
func (c *Client) Init(ctx context.Context, req InitRequest, timeout time.Duration) (Reply, error) {
	body, err := json.Marshal(struct {
		Value InitRequest `json:"value"`
	}{req})
	if err != nil {
		return Reply{}, fmt.Errorf("containerclient: encode /init: %w", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		r, err := c.post(ctx, completion.InitPath, body)
		if err == nil || !refused(err) {
			r.Elapsed = time.Since(start)
			return r, c.classify(ctx, completion.InitPath, timeout, err)
		}
		t := time.NewTimer(InitRetryInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return Reply{Elapsed: time.Since(start)}, c.classify(ctx, completion.InitPath, timeout, err)
		case <-t.C:
		}
	}
}

// Run sends /run once, within timeout. A non-200 answer is a Reply, not an
// error.
func (c *Client) Run(ctx context.Context, req RunRequest, timeout time.Duration) (Reply, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Reply{}, fmt.Errorf("containerclient: encode /run: %w", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := c.post(ctx, completion.RunPath, body)
	r.Elapsed = time.Since(start)
	return r, c.classify(ctx, completion.RunPath, timeout, err)
}

// post sends one request and reads the answer, keeping at most maxBody bytes
// and counting the rest.
func (c *Client) post(ctx context.Context, path string, body []byte) (Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	// The span in ctx (the invocation's, when tracing) parents the
	// runtime's spans; without one nothing is added.
	traceContext.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := c.hc.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	kept, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.maxBody)))
	if err != nil {
		return Reply{}, err
	}
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return Reply{}, err
	}
	return Reply{
		StatusCode: resp.StatusCode, Body: kept, Length: int64(len(kept)) + rest,
		Phase: completion.Phase(resp.Header.Get(completion.HeaderPhase)),
	}, nil
}

// classify wraps a transport error in ErrTimeout or ErrUnreachable; the
// caller's own cancellation is returned as ctx's error.
func (c *Client) classify(ctx context.Context, path string, timeout time.Duration, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %s at %s gave no answer in %s", ErrTimeout, path, c.base, timeout)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("%w: %s at %s: %w", ErrUnreachable, path, c.base, err)
}

// refused reports errors of a proxy that does not listen yet: the
// connection is refused or the host unreachable, or the connect timed out
// (a container whose network is still being set up on a busy machine drops
// the SYN instead of refusing it).
func refused(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && op.Timeout()
}
