package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// target is one measured path to the daemon: a raw client dialing one unix
// socket, keep-alive.
type target struct {
	name   string // "direct" or "shim"
	client *http.Client
	dials  atomic.Int64 // connections opened
}

// dockerBase is the URL of every Docker API call; the transport dials the
// target's socket whatever the host.
const dockerBase = "http://docker"

func newTarget(name, sock string, timeout time.Duration) *target {
	t := &target{name: name}
	d := &net.Dialer{Timeout: timeout}
	t.client = &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			t.dials.Add(1)
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
	return t
}

// statusError is an answer with another status than the one expected.
type statusError struct {
	got, want int
	body      string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("status %d, want %d: %s", e.got, e.want, e.body)
}

// do sends one request, reads the whole answer into buf and checks its
// status. lat is from just before the request is sent to the end of
// reading the body.
func do(ctx context.Context, c *http.Client, method, url string, body []byte, want int, buf *bytes.Buffer) (lat time.Duration, err error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	buf.Reset()
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = buf.ReadFrom(resp.Body)
	lat = time.Since(t0)
	_ = resp.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("%s %s: reading the answer: %w", method, url, err)
	}
	if resp.StatusCode != want {
		b := bytes.TrimSpace(buf.Bytes())
		if len(b) > 200 {
			b = append(b[:200:200], "…"...)
		}
		return 0, fmt.Errorf("%s %s: %w", method, url, &statusError{got: resp.StatusCode, want: want, body: string(b)})
	}
	return lat, nil
}
