package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/epilogue-dev/epilogue/internal/ctxtime"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/api"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// Bounds of a scenario.
const (
	// startTimeout bounds the standalone server's start.
	startTimeout = time.Minute
	// shutdownTimeout bounds its shutdown: lingering work, then removal.
	shutdownTimeout = time.Minute
	// requestTimeout bounds one call to its API (a blocking invoke waits
	// at most 60 s for its activation).
	requestTimeout = 90 * time.Second
	// actionMemoryMB is every workload action's memory limit.
	actionMemoryMB = 256
	// actionTimeoutMs is their time limit unless a fault sets another.
	actionTimeoutMs = 30000
	// maxAPIReply caps what the suite reads of one API answer.
	maxAPIReply = 4 << 20
	// dockerPrefix begins the names of the suite's containers; the run's
	// id follows (env.dockerPrefix).
	dockerPrefix = "wskchaos"
	// guestNamespace is the guest key's namespace, where the records are.
	guestNamespace = "guest"
)

// scenario is one cell of the matrix under one semantics.
type scenario struct {
	env                        *env
	semantics, workload, fault string
	seed                       int64
	rng                        *rand.Rand
	dir                        string

	// Set up by newScenario and the fault's configure:
	pool      pool.Config
	server    standalone.Config
	actions   []string // activation i uses actions[i%len]
	timeoutMs int
	delayMs   [2]int // each activation's I/O after its response, uniform
	gapMs     [2]int // between an answer and the next invoke, uniform
	// delayFor, if set, turns activation i's drawn delay into its delay.
	delayFor func(i, drawn int) int
	shim     *shimRun
	// boundParams are bound to every action (durable: the task store).
	boundParams map[string]string

	// shutdown stops the running server (start sets it; a restart fault
	// replaces it).
	shutdown func() error

	api      string // the server's base URL once it runs
	hc       *http.Client
	acts     []*activation
	injected int // faults a hook actually injected
}

// activation is one invoke of a scenario.
type activation struct {
	i       int
	key     string // what it writes
	id      string // the platform's activation id
	ack     bool
	delayMs int
	// answered is when the answer reached the suite.
	answered time.Time
}

// scenarioSeed derives a scenario's rand from the run's seed and its name,
// so that running one scenario alone replays it.
func scenarioSeed(seed int64, semantics, workload, fault string) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%s/%s", seed, semantics, workload, fault)
	return int64(h.Sum64() >> 1)
}

func newScenario(e *env, semantics string, c cell) *scenario {
	policy := reclaim.Epilogue
	if semantics == SemanticsVanilla {
		policy = reclaim.Vanilla
	}
	s := &scenario{
		env: e, semantics: semantics, workload: c.workload, fault: c.fault, seed: e.cfg.Seed,
		rng:       rand.New(rand.NewSource(scenarioSeed(e.cfg.Seed, semantics, c.workload, c.fault))),
		dir:       filepath.Join(e.dir, semantics+"-"+c.workload+"-"+c.fault),
		pool:      pool.Config{Policy: policy, IdleTimeout: time.Minute, Prewarm: 0, Logger: e.cfg.Logger},
		actions:   []string{"chaos"},
		timeoutMs: actionTimeoutMs,
		// Long enough that a reclaim right after the response lands
		// before the work is done even on a loaded machine (a docker pause
		// under the race detector took hundreds of ms), and that the next
		// activation starts while it is pending.
		delayMs: [2]int{600, 900},
		gapMs:   [2]int{20, 120},
		hc:      &http.Client{Timeout: requestTimeout},
	}
	s.server = standalone.Config{
		Backend: e.cfg.Backend, ProxyPath: e.cfg.ProxyPath, DataDir: filepath.Join(s.dir, "data"),
		DockerNamePrefix: e.dockerPrefix(), ShutdownTimeout: shutdownTimeout, Logger: e.cfg.Logger,
	}
	if semantics == SemanticsDurable {
		s.configureDurable()
	}
	return s
}

// run runs the scenario and counts what it found.
func (s *scenario) run(ctx context.Context) Result {
	started := time.Now()
	r := Result{Semantics: s.semantics, Workload: s.workload, Fault: s.fault, Backend: s.env.cfg.Backend, Seed: s.seed}
	fail := func(err error) Result {
		r.Errors = append(r.Errors, err.Error())
		r.ElapsedMs = ms(time.Since(started))
		return r
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fail(err)
	}
	f := faults[s.fault]
	if err := f.configure(s); err != nil {
		return fail(fmt.Errorf("set up the fault: %w", err))
	}
	defer s.env.net.SetLatency(0)
	defer s.env.net.SetResetProbability(0, 0)
	if s.shim != nil {
		defer s.shim.stop()
	}
	snap, err := s.drive(ctx, f)
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
	}
	r.ForcedReclaims, r.PauseLagMs, r.Injected = int(snap.Stats.ForcedReclaims), snap.PauseLagsMs, s.injected
	if err := s.count(ctx, &r); err != nil {
		r.Errors = append(r.Errors, err.Error())
	}
	r.ElapsedMs = ms(time.Since(started))
	return r
}

// drive starts the server, deploys, invokes and injects, then shuts the
// server down; it returns the pool's last snapshot before the shutdown.
func (s *scenario) drive(ctx context.Context, f fault) (pool.Snapshot, error) {
	if err := s.start(ctx); err != nil {
		return pool.Snapshot{}, err
	}
	invokeErr := s.invokeAll(ctx, f)
	// Give the last activations' work the time it needs before the server
	// stops, so that what is lost was lost to the platform's own
	// reclaiming, not to the end of the scenario.
	settleErr := ctxtime.Sleep(ctx, time.Duration(s.maxDelayMs()+settleSlackMs)*time.Millisecond)
	if settleErr == nil && s.semantics == SemanticsDurable {
		settleErr = s.awaitTasks(ctx)
	}
	snap, snapErr := s.poolSnapshot(ctx)
	return snap, errors.Join(invokeErr, settleErr, snapErr, s.shutdown())
}

// settleSlackMs is added to the longest delay before the server stops.
const settleSlackMs = 300

// maxDelayMs is the longest post-response I/O an activation was given.
func (s *scenario) maxDelayMs() int {
	longest := 0
	for _, a := range s.acts {
		longest = max(longest, a.delayMs)
	}
	return longest
}

// start starts the scenario's standalone server and deploys its actions;
// s.shutdown then stops the server: under epilogue it lets lingering work
// finish; under vanilla it removes containers whatever they hold.
func (s *scenario) start(ctx context.Context) error {
	s.server.Pool = s.pool
	sctx, stop := context.WithCancel(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return err
	}
	s.server.Listener = ln
	ready := make(chan struct{})
	s.server.Ready = func(string) { close(ready) }
	s.api = "http://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- standalone.Run(sctx, s.server) }()
	shutdown := func() error {
		stop()
		select {
		case err := <-served:
			return err
		case <-time.After(shutdownTimeout + 30*time.Second):
			return fmt.Errorf("the standalone server did not stop within %s", shutdownTimeout+30*time.Second)
		}
	}
	select {
	case <-ready:
	case err := <-served:
		stop()
		return fmt.Errorf("the standalone server did not start: %w", err)
	case <-time.After(startTimeout):
		return errors.Join(fmt.Errorf("the standalone server did not start within %s", startTimeout), shutdown())
	}
	for _, name := range s.actions {
		if err := s.deploy(ctx, name); err != nil {
			return errors.Join(err, shutdown())
		}
	}
	s.shutdown = shutdown
	return nil
}

// invokeAll runs the scenario's activations.
func (s *scenario) invokeAll(ctx context.Context, f fault) error {
	deadline := time.Now().Add(s.env.cfg.Duration)
	for i := 0; ; i++ {
		if s.env.cfg.Short && i >= shortActivations || !s.env.cfg.Short && (i >= maxActivations || time.Now().After(deadline)) {
			return nil
		}
		a := &activation{i: i, key: activationKey(s, i), delayMs: s.draw(s.delayMs)}
		if s.delayFor != nil {
			a.delayMs = s.delayFor(i, a.delayMs)
		}
		if f.before != nil {
			f.before(s, i)
		}
		params := workloadFor(s.semantics, s.workload).params(s, a.key, a.delayMs)
		var err error
		if a.id, a.ack, err = s.invoke(ctx, s.actions[i%len(s.actions)], params); err != nil {
			return fmt.Errorf("activation %d: %w", i, err)
		}
		a.answered = time.Now()
		s.acts = append(s.acts, a)
		if f.after != nil {
			if err := f.after(ctx, s, a); err != nil {
				return fmt.Errorf("inject %s after activation %d: %w", s.fault, i, err)
			}
		}
		if err := ctxtime.Sleep(ctx, time.Duration(s.draw(s.gapMs))*time.Millisecond); err != nil {
			return err
		}
	}
}

// draw is uniform in [lo, hi].
func (s *scenario) draw(r [2]int) int { return r[0] + s.rng.Intn(r[1]-r[0]+1) }

// count reads every activation's final record and what reached Redis.
func (s *scenario) count(ctx context.Context, r *Result) error {
	st, err := store.Open(s.server.DataDir)
	if err != nil {
		return fmt.Errorf("read the activation records: %w", err)
	}
	defer st.Close()
	w := workloadFor(s.semantics, s.workload)
	defer summarizeRecovery(r)
	for _, a := range s.acts {
		r.Activations++
		rec, err := st.GetActivation(guestNamespace, a.id)
		if err != nil {
			return fmt.Errorf("the record of activation %d (%s): %w", a.i, a.id, err)
		}
		completion := stringAnnotation(rec, entity.AnnotationCompletion)
		switch completion {
		case "done":
			r.Completion.Done++
		case "expired":
			r.Completion.Expired++
		case "failed":
			r.Completion.Failed++
		}
		if post, ok := rec.Annotations.Get(entity.AnnotationPostResponseDuration); ok {
			if v, err := strconv.ParseFloat(string(post), 64); err == nil {
				r.PostResponseMs = append(r.PostResponseMs, v)
			}
		}
		if !a.ack {
			continue
		}
		r.Acknowledged++
		r.DurationMs = append(r.DurationMs, float64(rec.Duration))
		var persisted, interfered bool
		if s.semantics == SemanticsDurable {
			persisted, err = s.countDurable(ctx, a, r)
		} else {
			persisted, interfered, err = w.check(ctx, s, a.key, a.id)
		}
		if err != nil {
			return fmt.Errorf("check activation %d: %w", a.i, err)
		}
		switch {
		case persisted:
			r.Persisted++
		case completion != "failed" && completion != "expired":
			r.Lost++
		}
		if interfered {
			r.Interference++
		}
	}
	return nil
}

// stringAnnotation is a string annotation's value, "" if absent.
func stringAnnotation(rec entity.Activation, key string) string {
	raw, ok := rec.Annotations.Get(key)
	if !ok {
		return ""
	}
	var v string
	_ = json.Unmarshal(raw, &v)
	return v
}

// deploy creates action name from the workload's code, as `wsk action
// create NAME --docker epilogue/action-go action.zip` does.
func (s *scenario) deploy(ctx context.Context, name string) error {
	bound := []map[string]string{}
	for _, k := range names(s.boundParams) {
		bound = append(bound, map[string]string{"key": k, "value": s.boundParams[k]})
	}
	body, _ := json.Marshal(map[string]any{
		"exec":       map[string]any{"kind": "blackbox", "image": "epilogue/action-go", "code": s.env.zips[workloadFor(s.semantics, s.workload).source]},
		"limits":     map[string]any{"timeout": s.timeoutMs, "memory": actionMemoryMB},
		"parameters": bound,
	})
	status, reply, err := s.call(ctx, http.MethodPut, "/api/v1/namespaces/_/actions/"+name+"?overwrite=true", body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("create action %s: %d %s", name, status, reply)
	}
	return nil
}

// invoke runs one blocking activation, as `wsk action invoke -b`; ack is
// whether it answered success.
func (s *scenario) invoke(ctx context.Context, action string, params map[string]any) (id string, ack bool, err error) {
	body, _ := json.Marshal(params)
	status, reply, err := s.call(ctx, http.MethodPost, "/api/v1/namespaces/_/actions/"+action+"?blocking=true", body)
	if err != nil {
		return "", false, err
	}
	var rec struct {
		ActivationID string `json:"activationId"`
		Response     struct {
			Success bool `json:"success"`
		} `json:"response"`
	}
	if err := json.Unmarshal(reply, &rec); err != nil || rec.ActivationID == "" {
		return "", false, fmt.Errorf("invoke %s: %d %s", action, status, reply)
	}
	return rec.ActivationID, status == http.StatusOK && rec.Response.Success, nil
}

// poolSnapshot reads the server's /epilogue/pool.
func (s *scenario) poolSnapshot(ctx context.Context) (pool.Snapshot, error) {
	var snap pool.Snapshot
	status, reply, err := s.call(ctx, http.MethodGet, standalone.PoolPath, nil)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%s: %d %s", standalone.PoolPath, status, reply)
	}
	if err == nil {
		err = json.Unmarshal(reply, &snap)
	}
	return snap, err
}

// call sends one request to the server's API with the guest key.
func (s *scenario) call(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.api+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(api.GuestUUID, api.GuestKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIReply))
	return resp.StatusCode, reply, err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
