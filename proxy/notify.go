package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
)

// Bounds for pushing events.
const (
	notifyQueue   = 1024
	notifyTimeout = 2 * time.Second
	// notifyLogEvery rate-limits the stderr line about failed pushes.
	notifyLogEvery = 10 * time.Second
)

// notifier pushes events in order from one goroutine, so a slow or dead
// receiver never delays a /run. A full queue drops events: receivers must
// confirm with /epilogue/status before acting, as the invoker shim does.
type notifier struct {
	url      string
	token    []byte
	client   *http.Client
	queue    chan []byte
	failures atomic.Uint64
	stderr   io.Writer
	done     chan struct{}

	mu     sync.Mutex
	closed bool // guarded by mu; no enqueue after close
}

func newNotifier(rawURL, token string, stderr io.Writer) (*notifier, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("proxy: EPILOGUE_NOTIFY_URL %q is not an http(s) URL", rawURL)
	}
	n := &notifier{
		url: rawURL, token: []byte(token), client: &http.Client{Timeout: notifyTimeout},
		queue: make(chan []byte, notifyQueue), stderr: stderr, done: make(chan struct{}),
	}
	go n.run()
	return n, nil
}

// enqueue is the registry's OnEvent hook: it runs under the registry's lock,
// so it only encodes and never blocks.
func (n *notifier) enqueue(ev completion.Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		n.failures.Add(1)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	select {
	case n.queue <- b:
	default:
		n.failures.Add(1)
	}
}

func (n *notifier) run() {
	defer close(n.done)
	var lastLog time.Time
	for body := range n.queue {
		if err := n.post(body); err != nil {
			n.failures.Add(1)
			if time.Since(lastLog) > notifyLogEvery {
				lastLog = time.Now()
				fmt.Fprintf(n.stderr, "epilogue-proxy: cannot push an event to %s: %v\n", n.url, err)
			}
		}
	}
}

func (n *notifier) post(body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(completion.SignatureHeader, completion.Sign(n.token, body))
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", n.url, resp.Status)
	}
	return nil
}

// close delivers what is queued, within a bound.
func (n *notifier) close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	close(n.queue)
	n.mu.Unlock()
	select {
	case <-n.done:
	case <-time.After(notifyTimeout):
	}
}
