package recoverer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"

	"github.com/epilogue-dev/epilogue/durable"
)

// Defaults.
const (
	DefaultPoll          = time.Second
	DefaultMaxRecoveries = 10
	// Consumer is the recoverer's name in the store's consumer group.
	Consumer  = "epilogue-recoverer"
	batch     = 100
	callBound = time.Minute // one store operation or invocation
)

// Config configures a Recoverer.
type Config struct {
	Store *durable.Store
	// APIHost is OpenWhisk's API, e.g. https://openwhisk.example.com or
	// http://127.0.0.1:3233; Auth is a uuid:key allowed to invoke the
	// tasks' actions (as wsk's --auth).
	APIHost, Auth string
	// AuthFor, if set, gives the uuid:key to invoke namespace's actions
	// with, and Auth is not used: a recoverer holding every namespace's
	// key (the standalone's) invokes each intent as its own namespace. An
	// error (no key for that namespace) fails that intent's recovery.
	AuthFor func(namespace string) (string, error)
	// Insecure skips TLS verification (as wsk -i).
	Insecure bool
	// Lease must be the SDK's (EPILOGUE_TASKS_LEASE); 0 = durable.DefaultLease.
	Lease time.Duration
	// Poll is the time between two looks at the store; 0 = DefaultPoll.
	Poll time.Duration
	// MaxRecoveries is how many invocations of an intent's action may fail
	// before it is dead-lettered; 0 = DefaultMaxRecoveries.
	MaxRecoveries int
	Logger        *slog.Logger
}

// Recoverer re-invokes the actions of tasks whose lease expired.
type Recoverer struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	clients map[string]*whisk.Client // guarded by mu; by namespace
}

// New checks cfg and returns a Recoverer.
func New(cfg Config) (*Recoverer, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("recoverer: no task store: pass --redis host:port")
	case cfg.APIHost == "":
		return nil, errors.New("recoverer: no OpenWhisk API host: pass --apihost (as wsk's), e.g. http://127.0.0.1:3233")
	case cfg.AuthFor == nil && !strings.Contains(cfg.Auth, ":"):
		return nil, errors.New("recoverer: the auth must be uuid:key (as wsk's --auth) of a subject allowed to invoke the tasks' actions")
	case cfg.Lease < 0 || cfg.Poll < 0 || cfg.MaxRecoveries < 0:
		return nil, errors.New("recoverer: the lease, the poll interval and the recovery limit must not be negative")
	}
	if cfg.Lease == 0 {
		cfg.Lease = durable.DefaultLease
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.MaxRecoveries == 0 {
		cfg.MaxRecoveries = DefaultMaxRecoveries
	}
	if !strings.Contains(cfg.APIHost, "://") {
		cfg.APIHost = "https://" + cfg.APIHost // as wsk reads a bare host
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recoverer{cfg: cfg, log: log, clients: map[string]*whisk.Client{}}, nil
}

// Run recovers until ctx ends. Store errors are logged and retried at the
// next poll: a restart of Redis does not stop the recoverer.
func (r *Recoverer) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("task recovery: cannot read the store; trying again", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once takes over the intents whose lease expired and re-invokes their
// actions; it returns how many were invoked.
func (r *Recoverer) Once(ctx context.Context) (int, error) {
	c, cancel := context.WithTimeout(ctx, callBound)
	defer cancel()
	intents, err := r.cfg.Store.ClaimExpired(c, Consumer, r.cfg.Lease, batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, in := range intents {
		ok, err := r.recover(ctx, in)
		if err != nil {
			r.log.Warn("task recovery failed", "task", in.Task, "intent", in.ID, "error", err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// recover re-invokes one intent's action, or dead-letters the intent when
// it cannot run again.
func (r *Recoverer) recover(ctx context.Context, in durable.Intent) (bool, error) {
	c, cancel := context.WithTimeout(ctx, callBound)
	defer cancel()
	st := r.cfg.Store
	state, err := st.GetState(c, in.ID)
	if err != nil {
		return false, err
	}
	reason := durable.ReasonRecovery
	if state.Reason == durable.ReasonContinuation {
		reason = durable.ReasonContinuation
	}
	if reason == durable.ReasonRecovery && state.Attempt >= in.Attempts && in.Attempts > 0 {
		return false, st.DeadLetter(c, in, fmt.Sprintf("attempt %d of %d began and never ended: its container went away", state.Attempt, in.Attempts))
	}
	ns, name, err := split(in.Action)
	if err != nil {
		return false, st.DeadLetter(c, in, err.Error())
	}
	link := state.Activation
	if link == "" {
		link = in.Activation
	}
	resume := durable.Resume{ID: in.ID}
	if reason == durable.ReasonContinuation {
		resume.ContinuationOf = link
	} else {
		resume.RecoveryOf = link
	}
	// Cleared before the invocation: the new activation may hand the task
	// back again before the invocation returns.
	if err := st.SetReason(c, in.ID, ""); err != nil {
		return false, err
	}
	activation, err := r.invoke(ns, name, map[string]any{durable.TaskParam: resume})
	if err != nil {
		// The intent stays leased to the recoverer: it is tried again once
		// the lease lapses, with its reason.
		msg := fmt.Sprintf("re-invoking %s failed: %v", in.Action, err)
		rerr := st.SetReason(c, in.ID, state.Reason)
		n, cerr := st.RecordFailedRecovery(c, in.ID, msg)
		rerr = errors.Join(rerr, cerr)
		if rerr == nil && n >= r.cfg.MaxRecoveries {
			rerr = st.DeadLetter(c, in, fmt.Sprintf("%d re-invocations failed; fix the action or the recoverer's credentials, then epilogue tasks retry", n))
		}
		return false, errors.Join(errors.New(msg), rerr)
	}
	r.log.Info("task re-invoked", "task", in.Task, "intent", in.ID, "action", in.Action, "activation", activation, "reason", reason, "of", link)
	return true, nil
}

// split reads a fully qualified action name, /namespace[/package]/action.
func split(action string) (namespace, name string, err error) {
	parts := strings.Split(strings.TrimPrefix(action, "/"), "/")
	if !strings.HasPrefix(action, "/") || len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return "", "", fmt.Errorf("the intent names its action %q, not /namespace[/package]/action, so it cannot be re-invoked", action)
	}
	return parts[0], strings.Join(parts[1:], "/"), nil
}

// invoke starts the action without waiting and returns the activation id.
func (r *Recoverer) invoke(namespace, name string, params map[string]any) (string, error) {
	c, err := r.client(namespace)
	if err != nil {
		return "", err
	}
	res, _, err := c.Actions.Invoke(name, params, false, false)
	if err != nil {
		return "", err
	}
	m, _ := res.(map[string]any)
	id, _ := m["activationId"].(string)
	return id, nil
}

func (r *Recoverer) client(namespace string) (*whisk.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.clients[namespace]; c != nil {
		return c, nil
	}
	auth := r.cfg.Auth
	if r.cfg.AuthFor != nil {
		var err error
		if auth, err = r.cfg.AuthFor(namespace); err != nil {
			return nil, err
		}
	}
	c, err := whisk.NewClient(&http.Client{Timeout: callBound}, &whisk.Config{Host: r.cfg.APIHost, AuthToken: auth, Namespace: namespace, Insecure: r.cfg.Insecure})
	if err != nil {
		return nil, fmt.Errorf("cannot make an OpenWhisk client for %s: %w", r.cfg.APIHost, err)
	}
	r.clients[namespace] = c
	return c, nil
}

// HealthPath is where Health is served (epilogue tasks recover
// --health-listen): a Kubernetes probe's path.
const HealthPath = "/healthz"

// healthBound bounds the store's answer to a health check, below a
// probe's usual timeout.
const healthBound = 2 * time.Second

// Health answers 200 while the task store answers, and 503 with the reason
// otherwise: a recoverer cut off from its store recovers nothing, so
// restarting it (or not routing to it) is the right response, while an
// unreachable OpenWhisk is retried per intent and says nothing about the
// process.
func (r *Recoverer) Health() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c, cancel := context.WithTimeout(req.Context(), healthBound)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := r.cfg.Store.Ping(c); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "the task store %s does not answer: %v\n", r.cfg.Store.Addr(), err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}
