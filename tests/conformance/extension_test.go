package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// The Epilogue extension, black-box: the proxy runs with OW_WAIT_FOR_ACK=1,
// so the fixture acks with {"ok":true,"epilogue":1} and speaks frames.

// record is the part of an activation record the tests read.
type record struct {
	ID             string    `json:"id"`
	Seq            uint64    `json:"seq"`
	Phase          string    `json:"phase"`
	Pending        []string  `json:"pending"`
	Start          time.Time `json:"start"`
	ResponseMs     float64   `json:"responseMs"`
	PostResponseMs float64   `json:"postResponseMs"`
	Error          string    `json:"error"`
	Errors         []string  `json:"errors"`
	Unfinished     []string  `json:"unfinished"`
}

// doneAt is when the activation became terminal, by the proxy's clock.
func (r record) doneAt() time.Time {
	return r.Start.Add(time.Duration((r.ResponseMs + r.PostResponseMs) * float64(time.Millisecond)))
}

type snapshot struct {
	State       string   `json:"state"`
	Semantics   string   `json:"semantics"`
	Protocol    string   `json:"protocol"`
	Activations []record `json:"activations"`
	StrayLines  uint64   `json:"strayLines"`
}

func (s snapshot) find(id string) (record, bool) {
	for i := len(s.Activations) - 1; i >= 0; i-- {
		if s.Activations[i].ID == id {
			return s.Activations[i], true
		}
	}
	return record{}, false
}

// status reads GET /epilogue/status.
func status(t *testing.T, p *proxy) snapshot {
	t.Helper()
	r := p.get(t, completion.StatusPath)
	r.requireOK(t)
	r.requireFramed(t)
	var s snapshot
	require.NoErrorf(t, json.Unmarshal(r.Body, &s), "status body: %q", r.Body)
	return s
}

// awaitActivation reads GET /epilogue/await?activation=id&timeout=timeout and
// requires 200.
func awaitActivation(t *testing.T, p *proxy, id, timeout string) record {
	t.Helper()
	r := p.get(t, completion.AwaitPath+"?activation="+id+"&timeout="+timeout)
	require.Equalf(t, http.StatusOK, r.Status, "await %s: got %s; want 200", id, r)
	r.requireFramed(t)
	var rec record
	require.NoErrorf(t, json.Unmarshal(r.Body, &rec), "await body: %q", r.Body)
	require.Equal(t, id, rec.ID)
	return rec
}

// extendedProxy starts a proxy in ack mode with the fixture initialised.
func extendedProxy(t *testing.T, opts ...option) *proxy {
	t.Helper()
	p := startProxy(t, append([]option{withEnv("OW_WAIT_FOR_ACK=1")}, opts...)...)
	p.mustInit(t, fixtureInit(t, nil))
	return p
}

func TestEpilogueExtension(t *testing.T) {
	t.Parallel()

	t.Run("the fixture speaks the extension", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t)
		assert.Equal(t, "epilogue/1", status(t, p).Protocol)
		r := p.run(t, obj{"quiet": true}, "activation_id=plain")
		r.requireJSON(t, `{"quiet":true}`)
		assert.Equal(t, "done", r.Header.Get("X-Epilogue-Phase"))
		assert.Equal(t, "plain", r.Header.Get("X-Epilogue-Activation"))
	})

	t.Run("run answers at once while work lingers; status and await follow it", func(t *testing.T) {
		t.Parallel()
		// Work that outlasts the test: the answer came before its end,
		// and status shows it lingering, by construction.
		held := extendedProxy(t)
		r := held.run(t, obj{"linger_ms": forever, "quiet": true}, "activation_id=ling-0")
		r.requireJSON(t, fmt.Sprintf(`{"accepted":true,"linger_ms":%d}`, forever))
		assert.Equal(t, "responded", r.Header.Get("X-Epilogue-Phase"), "answered with the work pending")
		assert.Equal(t, "ling-0", r.Header.Get("X-Epilogue-Activation"))
		s := status(t, held)
		assert.Equalf(t, "lingering", s.State, "state: got %q; want lingering", s.State)
		rec, found := s.find("ling-0")
		require.Truef(t, found, "ling-0 not in status %+v", s)
		assert.Equal(t, "responded", rec.Phase)
		assert.NotEmptyf(t, rec.Pending, "pending of ling-0: got %q; want the lingering work", rec.Pending)

		// Work that ends: await follows it to done.
		p := extendedProxy(t)
		r = p.run(t, obj{"linger_ms": 300, "quiet": true}, "activation_id=ling-1")
		r.requireJSON(t, `{"accepted":true,"linger_ms":300}`)
		assert.Equal(t, "responded", r.Header.Get("X-Epilogue-Phase"), "answered before the work ended")
		done := awaitActivation(t, p, "ling-1", awaitBound)
		assert.Equal(t, "done", done.Phase)
		// 300 ms of post-response work; 10 ms of slack for the two
		// timestamps' scheduling.
		assert.GreaterOrEqualf(t, done.PostResponseMs, 290.0, "postResponseMs: got %v; want >= 300", done.PostResponseMs)
		assert.Equal(t, "idle", status(t, p).State)
	})

	t.Run("await with a short timeout on a lingering activation gets 504 JSON", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t)
		p.run(t, obj{"linger_ms": forever, "quiet": true}, "activation_id=slow").requireOK(t)
		// The work never ends while the test looks: a 504 within the
		// client's bound is the timeout's doing.
		r := p.get(t, completion.AwaitPath+"?activation=slow&timeout=50ms")
		assert.Equalf(t, http.StatusGatewayTimeout, r.Status, "await timeout=50ms: got %s; want 504", r)
		assert.NotEmpty(t, r.errorText(t))
		r.requireFramed(t)
	})

	t.Run("await for an unknown activation gets 404 JSON", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t)
		r := p.get(t, completion.AwaitPath+"?activation=nobody&timeout=1s")
		assert.Equalf(t, http.StatusNotFound, r.Status, "await unknown: got %s; want 404", r)
		assert.NotEmpty(t, r.errorText(t))
		r.requireFramed(t)
	})

	t.Run("await without an activation waits for quiescence", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t)
		g := testenv.NewGate(t)
		r := p.run(t, obj{"linger_ms": 1, "gate": g.URL("q-1"), "quiet": true}, "activation_id=q-1")
		r.requireOK(t)
		g.WaitArrived(t, "q-1", exitTimeout)
		// While the work is held, the await does not answer 200: it waits
		// out its timeout.
		w := p.get(t, completion.AwaitPath+"?timeout=50ms")
		assert.Equalf(t, http.StatusGatewayTimeout, w.Status, "await quiescence while work is held: got %s; want 504", w)
		g.Open("q-1")
		w = p.get(t, completion.AwaitPath+"?timeout="+awaitBound)
		require.Equalf(t, http.StatusOK, w.Status, "await quiescence: got %s; want 200", w)
		w.requireFramed(t)
		var s snapshot
		require.NoError(t, json.Unmarshal(w.Body, &s))
		assert.Equal(t, "idle", s.State)
		rec, found := s.find("q-1")
		require.True(t, found)
		assert.Equal(t, "done", rec.Phase)

		// Already quiescent: it answers at once, not at its timeout (past
		// the client's bound).
		w = p.get(t, completion.AwaitPath+"?timeout="+awaitBound)
		require.Equal(t, http.StatusOK, w.Status)
	})

	t.Run("isolated semantics: the next run starts only after the lingering one is done", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t)
		g := testenv.NewGate(t)
		first := p.run(t, obj{"linger_ms": 1, "gate": g.URL("iso-1"), "quiet": true}, "activation_id=iso-1")
		first.requireOK(t)
		g.WaitArrived(t, "iso-1", exitTimeout)
		answered := make(chan *response, 1)
		go func() {
			var r *response // nil if the request failed (the failure is recorded on t)
			defer func() { answered <- r }()
			r = p.run(t, obj{"quiet": true}, "activation_id=iso-2")
		}()
		// Give the second run every chance to answer early, as a wrong
		// admission would: a status round trip after it was sent.
		status(t, p)
		select {
		case r := <-answered:
			t.Fatalf("the second run answered (%s) while the first's work was held", r)
		default:
		}
		g.Open("iso-1")
		second := <-answered // bounded: the client's timeout
		require.NotNil(t, second, "the second run got no answer")
		second.requireJSON(t, `{"quiet":true}`)

		s := status(t, p)
		assert.Equal(t, "isolated", s.Semantics)
		r1, ok1 := s.find("iso-1")
		r2, ok2 := s.find("iso-2")
		require.True(t, ok1 && ok2, "status: %+v", s)
		assert.Equal(t, "done", r1.Phase)
		assert.Falsef(t, r2.Start.Before(r1.doneAt().Add(-time.Millisecond)), "iso-2 started at %s, before iso-1 was done at %s", r2.Start, r1.doneAt())
	})

	t.Run("overlap semantics: the next run does not wait", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t, withEnv(completion.EnvSemantics+"=overlap"))
		// ov-1's work outlasts the test: the second run answering at all
		// shows it did not wait.
		p.run(t, obj{"linger_ms": forever, "quiet": true}, "activation_id=ov-1").requireOK(t)
		second := p.run(t, obj{"quiet": true}, "activation_id=ov-2")
		second.requireJSON(t, `{"quiet":true}`)
		s := status(t, p)
		assert.Equal(t, "overlap", s.Semantics)
		r1, ok1 := s.find("ov-1")
		r2, ok2 := s.find("ov-2")
		require.True(t, ok1 && ok2, "status: %+v", s)
		assert.Equalf(t, "responded", r1.Phase, "ov-1 after ov-2 answered: got phase %q; want still responded", r1.Phase)
		assert.Equal(t, "done", r2.Phase)
	})

	t.Run("fail_after ends in phase failed with errors", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t)
		p.run(t, obj{"linger_ms": 100, "fail_after": true, "quiet": true}, "activation_id=fail-1").requireOK(t)
		rec := awaitActivation(t, p, "fail-1", awaitBound)
		assert.Equal(t, "failed", rec.Phase)
		assert.NotEmptyf(t, rec.Errors, "errors: got %q; want the post-response errors", rec.Errors)
	})

	t.Run("a deadline during lingering work ends in phase expired", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t)
		// The work outlasts the test: only the deadline can end it.
		r := p.run(t, obj{"linger_ms": forever, "quiet": true}, "activation_id=exp-1", "deadline="+epochMs(time.Now().Add(200*time.Millisecond)))
		r.requireOK(t)
		rec := awaitActivation(t, p, "exp-1", awaitBound)
		assert.Equal(t, "expired", rec.Phase)
		assert.NotEmptyf(t, rec.Unfinished, "unfinished: got %q; want the cancelled work", rec.Unfinished)
	})

	t.Run("output after the response follows the activation's sentinel, tagged", func(t *testing.T) {
		t.Parallel()
		p := extendedProxy(t)
		p.run(t, obj{"linger_ms": 100, "quiet": true}, "activation_id=post-1").requireOK(t)
		awaitActivation(t, p, "post-1", "5s")
		line := "[activation post-1] lingering post-1\n"
		ok := waitFor(logSettle, func() bool { return strings.Contains(p.stdout.String(), line) })
		require.Truef(t, ok, "stdout: got %q; want it to contain %q", p.stdout.String(), line)
		out := p.stdout.String()
		assert.Equalf(t, sentinel+"\n"+line, out, "stdout: got %q; want the sentinel, then the tagged line", out)
	})

	t.Run("push notifications are signed and the run never waits for them", func(t *testing.T) {
		t.Parallel()
		const token = "s3cret-token"
		type event struct {
			body []byte
			sig  string
		}
		var mu sync.Mutex
		var events []event
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			events = append(events, event{b, r.Header.Get(completion.SignatureHeader)})
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		p := extendedProxy(t, withEnv(completion.EnvNotifyURL+"="+srv.URL, completion.EnvNotifyToken+"="+token))
		p.run(t, obj{"linger_ms": 100, "quiet": true}, "activation_id=note-1").requireOK(t)

		decoded := func() []completion.Event {
			mu.Lock()
			defer mu.Unlock()
			var out []completion.Event
			for _, e := range events {
				var ev completion.Event
				if json.Unmarshal(e.body, &ev) == nil {
					out = append(out, ev)
				}
			}
			return out
		}
		sawQuiescent := func() bool {
			for _, ev := range decoded() {
				if ev.Type == completion.Quiescent {
					return true
				}
			}
			return false
		}
		require.Truef(t, waitFor(logSettle, sawQuiescent), "no quiescent event within %s; got %d events", logSettle, len(decoded()))

		mu.Lock()
		for _, e := range events {
			assert.Truef(t, completion.Verify([]byte(token), e.body, e.sig), "signature %q does not verify for %q", e.sig, e.body)
			assert.Falsef(t, completion.Verify([]byte("wrong"), e.body, e.sig), "signature %q verifies under a wrong token", e.sig)
		}
		mu.Unlock()
		var phases []string
		for _, ev := range decoded() {
			if ev.Type == completion.PhaseChanged && ev.Activation != nil && ev.Activation.ID == "note-1" {
				phases = append(phases, string(ev.Activation.Phase))
			}
		}
		assert.Equalf(t, []string{"running", "responded", "done"}, phases, "phase events for note-1: got %q", phases)
		evs := decoded()
		assert.Equalf(t, completion.Quiescent, evs[len(evs)-1].Type, "last event: got %q; want quiescent after done", evs[len(evs)-1].Type)
	})

	t.Run("a slow notify receiver does not delay run", func(t *testing.T) {
		t.Parallel()
		// The receiver holds every push until the test is over; the proxy
		// gives up on each at its own push timeout. A run that pushed
		// synchronously could answer only once its running event's push
		// had ended; so no push of an activation may have ended when its
		// run answers.
		stuck := make(chan struct{})
		var mu sync.Mutex
		ended := map[string]int{} // guarded by mu: pushes given up, by activation
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var ev completion.Event
			body, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(body, &ev)
			select {
			case <-stuck:
			case <-r.Context().Done():
			}
			if ev.Activation != nil {
				mu.Lock()
				ended[ev.Activation.ID]++
				mu.Unlock()
			}
		}))
		t.Cleanup(func() {
			close(stuck)
			srv.CloseClientConnections()
			srv.Close()
		})
		p := extendedProxy(t, withEnv(completion.EnvNotifyURL+"="+srv.URL, completion.EnvNotifyToken+"=t"))
		for i := 0; i < 3; i++ {
			id := fmt.Sprintf("slow-note-%d", i)
			r := p.run(t, obj{"id": id, "quiet": true}, "activation_id="+id)
			r.requireJSON(t, fmt.Sprintf(`{"id":%q,"quiet":true}`, id))
			mu.Lock()
			n := ended[id]
			mu.Unlock()
			assert.Zerof(t, n, "run %s answered after %d of its pushes to a receiver that never answers had ended: it waited for them", id, n)
		}
	})
}
