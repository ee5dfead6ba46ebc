// Command telemetry buffers trace spans in memory while it handles a request
// and exports them after its response, in one JSON POST to a collector. The
// POST goes through sdk.HTTPClient with the activation's context, so it is
// pending work until its response body is closed: the platform does not
// freeze the instance with the export half-sent, and the spans never leak
// into the next activation.
//
//	{"collector":"http://collector:4318/spans"} → {"ok":true}, then POST {"activation":"…","spans":[…]}
//
// delay_ms holds the export back after the response, as a flush interval
// would.
//
// Deploy it with:
//
//	epilogue build examples/telemetry -o telemetry.zip && wsk action create telemetry --docker epilogue/action-go telemetry.zip
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/epilogue-dev/epilogue/sdk"
)

// maxReply bounds how much of the collector's answer is read.
const maxReply = 64 << 10

type params struct {
	Collector string `json:"collector"`
	// DelayMs holds the export back, as a flush interval would.
	DelayMs int `json:"delay_ms"`
}

// span is one timed step of the handler.
type span struct {
	Name       string    `json:"name"`
	Start      time.Time `json:"start"`
	DurationMs float64   `json:"durationMs"`
}

// export is the body POSTed to the collector.
type export struct {
	Activation string `json:"activation"`
	Spans      []span `json:"spans"`
}

func handle(ctx context.Context, in params) (map[string]bool, error) {
	if in.Collector == "" {
		return nil, errors.New(`the "collector" parameter is required: the URL to POST the spans to`)
	}
	var spans []span
	for _, step := range []struct {
		name string
		d    time.Duration
	}{{"parse", 2 * time.Millisecond}, {"lookup", 5 * time.Millisecond}, {"render", time.Millisecond}} {
		start := time.Now()
		time.Sleep(step.d) // stands in for real work
		spans = append(spans, span{Name: step.name, Start: start, DurationMs: float64(time.Since(start).Microseconds()) / 1000})
	}

	body, err := json.Marshal(export{Activation: sdk.From(ctx).ID, Spans: spans})
	if err != nil {
		return nil, err
	}
	delay := time.Duration(in.DelayMs) * time.Millisecond
	sdk.Go(ctx, "export spans", func(ctx context.Context) error {
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		return post(ctx, in.Collector, body)
	})
	return map[string]bool{"ok": true}, nil
}

// post sends body to url through sdk.HTTPClient, so the request counts as
// the activation's pending work until its body is closed.
func post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := sdk.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReply)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the collector answered %s", resp.Status)
	}
	return nil
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func main() { sdk.Run(handle) }
