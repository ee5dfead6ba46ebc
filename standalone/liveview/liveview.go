package liveview

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/standalone/pool"
)

// Paths the handler serves, all under ViewPath.
const (
	// ViewPath is the page.
	ViewPath = "/epilogue/view"
	// EventsPath is the Server-Sent Events stream of the pool's changes.
	EventsPath = ViewPath + "/events"
	// assetsPath serves the page's CSS and JavaScript.
	assetsPath = ViewPath + "/assets/"
)

// Defaults of Config.
const (
	DefaultMaxClients   = 8
	DefaultHeartbeat    = 15 * time.Second
	DefaultWriteTimeout = 10 * time.Second
)

// SSE event names the page listens for.
const (
	// EventTimeline carries a Hello: the whole timeline, at the start and
	// after the pool dropped a client that fell behind.
	EventTimeline = "timeline"
	// EventChange carries a pool.Change: one container's timeline.
	EventChange = "change"
)

// contentSecurityPolicy lets the page load nothing but its own assets and
// its stream, so that it works offline and a name or log line shown on it
// can never pull anything in.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"

//go:embed assets
var assets embed.FS

// Source is what the view watches: *pool.Pool.
type Source interface {
	Subscribe() (pool.Timeline, *pool.Subscription)
}

// Config configures New. Zero values are the defaults.
type Config struct {
	// Source is the pool; required.
	Source Source
	// Semantics is shown on the page: the pool's reclaim policy.
	Semantics string
	// MaxClients bounds the streams open at once; one more is answered
	// 503, so a page left open in many tabs cannot pile up goroutines.
	MaxClients int
	// Heartbeat is the longest silence on a stream: it keeps proxies from
	// closing it and finds a client that went away.
	Heartbeat time.Duration
	// WriteTimeout bounds each write to a client.
	WriteTimeout time.Duration
	// Logger: nil = discard.
	Logger *slog.Logger
}

// Hello is the data of an EventTimeline event.
type Hello struct {
	Semantics string        `json:"semantics"`
	Timeline  pool.Timeline `json:"timeline"`
}

// Handler serves the page, its assets and its stream.
type Handler struct {
	cfg     Config
	mux     *http.ServeMux
	clients chan struct{}   // one token per open stream
	ctx     context.Context // ends at Close: every stream returns
	cancel  context.CancelFunc
	mu      sync.Mutex
	closed  bool           // guarded by mu: no stream starts after Close
	wg      sync.WaitGroup // the streams running; Add under mu
}

// New returns the view's handler; Close it when the server shuts down.
func New(cfg Config) (*Handler, error) {
	if cfg.Source == nil {
		return nil, fmt.Errorf("liveview: Config.Source is nil: pass the pool the view shows")
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), clients: make(chan struct{}, cfg.MaxClients), ctx: ctx, cancel: cancel}
	h.mux.HandleFunc("GET "+ViewPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		http.ServeFileFS(w, r, static, "index.html")
	})
	files := http.StripPrefix(assetsPath, http.FileServerFS(static))
	h.mux.HandleFunc("GET "+assetsPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache") // a new binary may serve new assets
		files.ServeHTTP(w, r)
	})
	h.mux.HandleFunc("GET "+EventsPath, h.stream)
	return h, nil
}

// ServeHTTP serves ViewPath, EventsPath and the assets.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close ends every open stream and waits for their handlers to return.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	h.cancel()
	h.mu.Unlock()
	h.wg.Wait()
}

// stream sends the pool's timeline, then its changes, until the client
// goes, a write fails or Close.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request) {
	select {
	case h.clients <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "5")
		http.Error(w, fmt.Sprintf("liveview: %d pages are already watching the pool; close one and reload", h.cfg.MaxClients), http.StatusServiceUnavailable)
		return
	}
	defer func() { <-h.clients }()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "liveview: the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// send writes one frame under the write timeout; it reports false
	// when the client is gone.
	send := func(frame []byte) bool {
		if err := rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout)); err != nil {
			h.cfg.Logger.Debug("live view: cannot set a write deadline", "error", err)
		}
		if _, err := w.Write(frame); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	beat := time.NewTicker(h.cfg.Heartbeat)
	defer beat.Stop()
	for {
		tl, sub := h.cfg.Source.Subscribe()
		ok := send(eventFrame(EventTimeline, tl.Seq, Hello{Semantics: h.cfg.Semantics, Timeline: tl}))
		for ok {
			select {
			case ch, open := <-sub.Changes():
				ok = open && send(eventFrame(EventChange, ch.Seq, ch))
			case <-beat.C:
				ok = send([]byte(": heartbeat\n\n"))
			case <-r.Context().Done():
				ok = false
			case <-h.ctx.Done():
				ok = false
			}
		}
		dropped := sub.Dropped()
		sub.Close()
		if !dropped || r.Context().Err() != nil || h.ctx.Err() != nil {
			return
		}
		h.cfg.Logger.Debug("live view: a page fell behind the pool's changes; sending the whole timeline again")
	}
}

// eventFrame is one Server-Sent Event: its name, id and JSON data (one
// line: encoding/json escapes newlines in strings).
func eventFrame(name string, id uint64, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil { // the timelines are plain data: a bug
		data, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	b := make([]byte, 0, len(data)+64)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\nid: "...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
