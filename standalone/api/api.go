package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// Invoker runs an activation; the container pool implements it.
type Invoker interface {
	// Invoke starts req.Action. It returns at once; the Invocation's Done
	// is closed when the activation record holds the response and is in
	// the store, and Record then returns it. ctx carries request values
	// only: it is not cancelled when the caller goes away, so a
	// non-blocking activation keeps running.
	Invoke(ctx context.Context, req InvokeRequest) (Invocation, error)
}

// InvokeRequest is one activation to start.
type InvokeRequest struct {
	// Action is the action to run, without its code (Code reads it).
	Action entity.Action
	// Code returns the action's code for a container's /init; nil when
	// Action.Exec.Code holds it. Only a cold start calls it, so an invoke
	// never holds megabytes of code while it waits.
	Code func() (string, error)
	// Params is a JSON object: the action's parameters overridden by the
	// request's.
	Params json.RawMessage
	// Subject is the caller's namespace ("guest"): the activation's
	// namespace and subject.
	Subject string
	// APIKey is the caller's "uuid:key", for actions annotated
	// provide-api-key.
	APIKey string
	// Binding is the package binding the action is invoked through,
	// "ns/binding", or "".
	Binding string
	// Cause is the id of the sequence activation this one is a component
	// of, or "".
	Cause string
}

// Invocation is one started activation.
type Invocation interface {
	// ID is the activation id, known at once (32 lower-case hex digits).
	ID() string
	// Done is closed when Record is complete.
	Done() <-chan struct{}
	// Record returns the activation record; valid after Done is closed.
	Record() entity.Activation
}

// Default limits; a zero Config field means the default.
const (
	// DefaultBlockingLimit is the controller's max-wait-for-blocking-activation.
	DefaultBlockingLimit = 60 * time.Second
	// DefaultMaxInvokeBody caps a POST invoke or web action body:
	// OpenWhisk's 1 MiB activation payload limit, checked on the request
	// entity as the controller does (the proxy's own limit leaves room for
	// the /run envelope around it).
	DefaultMaxInvokeBody int64 = 1 << 20
	// DefaultMaxActionBody caps a PUT action body (exec.code holds a base64 zip).
	DefaultMaxActionBody int64 = 64 << 20
)

// The default credentials of OpenWhisk's standalone, ansible and deploy-kube
// set-ups.
const (
	GuestUUID  = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
	GuestKey   = "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
	SystemUUID = "789c46b1-71f6-4ed5-8c54-816aa4f8c502"
)

// Config configures the handler New returns.
type Config struct {
	// Store holds actions and activations. Required.
	Store *store.Store
	// Invoker runs actions. nil: every invoke answers 503.
	Invoker Invoker
	// Keys maps a user's uuid to its key (Basic auth user and password).
	// The guest uuid's namespace is "guest", whisk.system's uuid's is
	// "whisk.system", any other uuid's is the uuid itself.
	// nil: only the guest key (GuestUUID:GuestKey).
	Keys map[string]string
	// BlockingLimit is the longest a blocking invoke waits before it
	// answers 202. 0: DefaultBlockingLimit.
	BlockingLimit time.Duration
	// MaxBody caps every request body. 0: DefaultMaxInvokeBody for invoke,
	// DefaultMaxActionBody for action PUT.
	MaxBody int64
}

// ErrConfig is returned by New for an unusable Config.
var ErrConfig = errors.New("api: invalid config")

type server struct {
	store         *store.Store
	invoker       Invoker
	keys          map[string]string
	blockingLimit time.Duration
	maxInvoke     int64
	maxAction     int64
	// sequences are the sequences running in the background: a caller
	// got the activation id, so a shutdown lets them reach their end
	// (Drain) before the pool under their components closes.
	sequences sync.WaitGroup
}

// API is OpenWhisk's REST API over a store and an Invoker.
type API struct {
	http.Handler
	s *server
}

// Drain waits, within ctx, until no sequence is running: call it after the
// HTTP server stopped taking requests and before the Invoker closes, or a
// sequence mid-chain records its next component's refusal as its result.
func (a *API) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		a.s.sequences.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("api: sequences were still running when the shutdown's bound passed: %w", ctx.Err())
	}
}

// New returns the /api/v1 handler.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil {
		return nil, errors.Join(ErrConfig, errors.New("api: Config.Store is nil; open one with store.Open(dir)"))
	}
	if cfg.BlockingLimit < 0 || cfg.MaxBody < 0 {
		return nil, errors.Join(ErrConfig, errors.New("api: Config.BlockingLimit and Config.MaxBody must not be negative; use 0 for the defaults"))
	}
	s := &server{
		store: cfg.Store, invoker: cfg.Invoker, keys: cfg.Keys,
		blockingLimit: cfg.BlockingLimit, maxInvoke: cfg.MaxBody, maxAction: cfg.MaxBody,
	}
	if s.keys == nil {
		s.keys = map[string]string{GuestUUID: GuestKey}
	}
	if s.blockingLimit == 0 {
		s.blockingLimit = DefaultBlockingLimit
	}
	if s.maxInvoke == 0 {
		s.maxInvoke, s.maxAction = DefaultMaxInvokeBody, DefaultMaxActionBody
	}
	return &API{Handler: s.routes(), s: s}, nil
}

// codeLoader returns InvokeRequest.Code for a, as the store has it at the
// revision a was read at.
func (s *server) codeLoader(a entity.Action) func() (string, error) {
	if a.Exec.Code != "" {
		return nil
	}
	ns, name, updated := a.Namespace, a.Name, a.Updated
	return func() (string, error) { return s.store.GetActionCode(ns, name, updated) }
}

// routes builds the router. Authentication wraps the namespaces subtree as a
// whole, so an unknown path under it still needs valid credentials.
func (s *server) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)
	r.HandleFunc("/", s.root).Methods(http.MethodGet)
	r.HandleFunc("/ping", ping).Methods(http.MethodGet)
	r.HandleFunc("/api/v1", s.info).Methods(http.MethodGet)
	r.HandleFunc(namespacesPrefix, s.listNamespaces).Methods(http.MethodGet)
	// A copy: mux upper-cases the methods in place, and servers are built
	// concurrently (tests).
	r.PathPrefix(webPrefix).HandlerFunc(s.web).Methods(slices.Clone(webMethods)...)

	ns := func(path string, h http.HandlerFunc, method string) {
		r.HandleFunc(namespacesPrefix+path, h).Methods(method)
	}
	ns("/{ns}/limits", s.limits, http.MethodGet)
	ns("/{ns}/actions", s.listActions, http.MethodGet)
	ns("/{ns}/actions/{name:.+}", s.putAction, http.MethodPut)
	ns("/{ns}/actions/{name:.+}", s.getAction, http.MethodGet)
	ns("/{ns}/actions/{name:.+}", s.deleteAction, http.MethodDelete)
	ns("/{ns}/actions/{name:.+}", s.invoke, http.MethodPost)
	ns("/{ns}/packages", s.listPackages, http.MethodGet)
	ns("/{ns}/packages/{name}", s.putPackage, http.MethodPut)
	ns("/{ns}/packages/{name}", s.getPackage, http.MethodGet)
	ns("/{ns}/packages/{name}", s.deletePackage, http.MethodDelete)
	ns("/{ns}/activations", s.listActivations, http.MethodGet)
	ns("/{ns}/activations/{id}", s.getActivation, http.MethodGet)
	ns("/{ns}/activations/{id}/logs", s.activationLogs, http.MethodGet)
	ns("/{ns}/activations/{id}/result", s.activationResult, http.MethodGet)
	ns("/{ns}/triggers", s.listTriggers, http.MethodGet)
	ns("/{ns}/triggers/{name}", s.putTrigger, http.MethodPut)
	ns("/{ns}/triggers/{name}", s.getTrigger, http.MethodGet)
	ns("/{ns}/triggers/{name}", s.deleteTrigger, http.MethodDelete)
	ns("/{ns}/triggers/{name}", s.fireTrigger, http.MethodPost)
	ns("/{ns}/rules", s.listRules, http.MethodGet)
	ns("/{ns}/rules/{name}", s.putRule, http.MethodPut)
	ns("/{ns}/rules/{name}", s.getRule, http.MethodGet)
	ns("/{ns}/rules/{name}", s.deleteRule, http.MethodDelete)
	ns("/{ns}/rules/{name}", s.setRuleState, http.MethodPost)
	return s.authenticate(r)
}
