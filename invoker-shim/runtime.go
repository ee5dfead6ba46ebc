package invokershim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// statusHTTP is shared by the runtimes' completion clients; every call is
// bounded by its context.
var statusHTTP = &http.Client{Transport: &http.Transport{
	DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute,
}}

// runtimeContainer is a container running the Epilogue runtime, and what
// the shim is doing to it.
type runtimeContainer struct {
	id, name string
	instance string // its events' instance; "" if it was not created through the shim
	// status is the runtime's completion state (its /epilogue/status and
	// /epilogue/await).
	status reclaim.Source

	// mu guards the fields below: the shim's in-memory view of the
	// container's intercepted calls. It is held only while they are read
	// and changed, never across I/O: not across a status call to the
	// runtime (up to reclaim.StatusTimeout), a call to the daemon (up to
	// daemonTimeout) or a journal write. A call that must ask first takes
	// note under mu, asks unlocked, then looks again under mu and acts
	// only if nothing it relied on changed; otherwise it starts over, and
	// the call that changed it wins:
	//
	//   - An unpause, or a removal, kill or stop, that arrives while a
	//     pause is being decided bumps gen; the pause, seeing gen moved,
	//     is not done (nor deferred) and is answered 204, as if it had
	//     been done and undone at once. The unpause is answered 204
	//     without the daemon as it is when it cancels a deferred pause.
	//   - A deferred operation is claimed exactly once, under mu: by an
	//     unpause or a removal that cancels it (it leaves its slot, and
	//     the deferred operation journals the cancellation), or by the
	//     deferred operation itself once reclaim allows it (a pause then
	//     moves to sending, a held call stays in held until it is done).
	//     Whoever comes second sees it claimed.
	//   - A pause on its way to the daemon (sending) is waited for, not
	//     raced: an unpause or a removal that arrives meanwhile waits on
	//     the channel, unlocked, and then finds the container frozen.
	mu sync.Mutex
	// gen counts the unpauses, removals, kills and stops: a pause decided
	// unlocked goes ahead only if gen did not move meanwhile.
	gen uint64
	// deciding counts the pauses being decided: an unpause that finds one
	// answers for the daemon (the pause will see gen move).
	deciding int
	// pause is the deferred pause, waiting for the runtime; held is the
	// removal, kill or stop waiting for it (and then being sent).
	pause, held *deferred
	// sending, when set, is closed once a pause on its way to the daemon
	// (forwarded, or sent by its deferred operation) has its answer.
	sending <-chan struct{}
	// frozen: the container is paused for real as far as the shim knows:
	// paused when it was first inspected, or by a pause the shim forwarded
	// or sent, and not unpaused, killed or stopped through the shim since.
	// A pause behind the shim's back is not seen here; see Shim.daemonState.
	frozen bool

	wakeMu sync.Mutex
	wake   chan struct{} // guarded by wakeMu; closed (and replaced) by a pushed event
}

// woken returns a channel closed at the next pushed event.
func (c *runtimeContainer) woken() <-chan struct{} {
	c.wakeMu.Lock()
	defer c.wakeMu.Unlock()
	return c.wake
}

// poke wakes whoever waits for this container.
func (c *runtimeContainer) poke() {
	c.wakeMu.Lock()
	defer c.wakeMu.Unlock()
	close(c.wake)
	c.wake = make(chan struct{})
}

// known is what the shim learnt of a container from its first inspect,
// none of which changes while the container exists: its image and labels
// say whether it runs the Epilogue runtime (rt, nil if not), and with them
// its name, instance and runtime address. Entries go when the container is
// removed through the shim or the daemon says it is gone (404).
type known struct {
	id   string
	rt   *runtimeContainer
	refs []string // guarded by Shim.mu: its keys in Shim.known
}

// errNotFound: the daemon has no such container.
var errNotFound = fmt.Errorf("invokershim: no such container")

// lookup returns the runtime container ref names, nil if it is not an
// Epilogue runtime, or errNotFound. The answer is cached per container and
// per reference: only a container the shim has not seen yet is inspected.
func (s *Shim) lookup(ctx context.Context, ref string) (*runtimeContainer, error) {
	s.mu.Lock()
	k := s.known[ref]
	s.mu.Unlock()
	if k != nil {
		return k.rt, nil
	}
	c, _, err := s.inspect(ctx, ref)
	return c, err
}

// inspect asks the daemon about ref, now, and caches what never changes.
func (s *Shim) inspect(ctx context.Context, ref string) (*runtimeContainer, container.InspectResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	info, err := s.daemon.ContainerInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		s.forget(ref)
		return nil, info, errNotFound
	}
	if err != nil {
		return nil, info, fmt.Errorf("invokershim: inspect %s: %w", ref, err)
	}
	var labels map[string]string
	image := ""
	if info.Config != nil {
		labels, image = info.Config.Labels, info.Config.Image
	}
	instance := labels[LabelInstance]
	runtime := instance != "" || labels[LabelRuntime] != "" || isRuntimeImage(image, s.cfg.RuntimeImages)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.known[info.ID]
	if k == nil {
		k = &known{id: info.ID}
		if runtime {
			k.rt = &runtimeContainer{
				id: info.ID, name: strings.TrimPrefix(info.Name, "/"), instance: instance,
				status: s.runtimeSource(info),
				frozen: info.State != nil && info.State.Paused,
				wake:   make(chan struct{}),
			}
			if instance != "" {
				s.byInstance[instance] = k.rt
			}
		}
		s.addRefLocked(k, info.ID)
	}
	s.addRefLocked(k, ref)
	return k.rt, info, nil
}

// addRefLocked files k under ref too. s.mu must be held.
func (s *Shim) addRefLocked(k *known, ref string) {
	if old, ok := s.known[ref]; ok {
		if old == k {
			return
		}
		old.refs = slices.DeleteFunc(old.refs, func(r string) bool { return r == ref })
	}
	s.known[ref] = k
	k.refs = append(k.refs, ref)
}

// forget drops what the shim knows of the container ref names (every
// reference to it): it was removed, or the daemon says it is gone.
func (s *Shim) forget(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.known[ref]
	if k == nil {
		return
	}
	for _, r := range k.refs {
		delete(s.known, r)
	}
	if k.rt != nil && k.rt.instance != "" && s.byInstance[k.rt.instance] == k.rt {
		delete(s.byInstance, k.rt.instance)
	}
}

// forgetName drops the reference name (and /name): a container created
// through the shim now has that name.
func (s *Shim) forgetName(name string) {
	if name == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ref := range []string{name, "/" + name} {
		if k, ok := s.known[ref]; ok {
			delete(s.known, ref)
			k.refs = slices.DeleteFunc(k.refs, func(r string) bool { return r == ref })
		}
	}
}

// daemonState asks the daemon whether c is paused for real or gone: for a
// runtime that does not answer (frozen behind the shim's back?) and for an
// unpause that would otherwise answer without the daemon. An error counts
// as neither.
func (s *Shim) daemonState(ctx context.Context, c *runtimeContainer) (paused, gone bool) {
	_, info, err := s.inspect(ctx, c.id)
	if errors.Is(err, errNotFound) {
		return false, true
	}
	return err == nil && info.State != nil && info.State.Paused, false
}

// byInstanceLabel finds the container of an instance that is not known yet
// (after a restart).
func (s *Shim) byInstanceLabel(ctx context.Context, instance string) *runtimeContainer {
	s.mu.Lock()
	c := s.byInstance[instance]
	s.mu.Unlock()
	if c != nil {
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	list, err := s.daemon.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelInstance+"="+instance))})
	if err != nil || len(list) != 1 {
		return nil
	}
	c, err = s.lookup(ctx, list[0].ID)
	if err != nil {
		return nil
	}
	return c
}

// runtimeSource is the completion client of the container's runtime.
func runtimeSource(info container.InspectResponse) reclaim.Source {
	return &completion.Client{BaseURL: runtimeURL(info), HTTP: statusHTTP}
}

// runtimeURL is where the container's runtime serves: its first network
// address, port 8080. A container without one cannot be asked; the reclaim
// bound then applies.
func runtimeURL(info container.InspectResponse) string {
	if info.NetworkSettings != nil {
		for _, ep := range info.NetworkSettings.Networks {
			if ep != nil && ep.IPAddress != "" {
				return "http://" + net.JoinHostPort(ep.IPAddress, completion.RuntimePort)
			}
		}
	}
	return "http://" + net.JoinHostPort("0.0.0.0", "1") // refused at once: "does not answer"
}

// token is the container's notify token: HMAC(key, instance), so the shim
// needs no table of tokens to survive a restart.
func (s *Shim) token(instance string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("epilogue-notify-token:" + instance))
	return hex.EncodeToString(m.Sum(nil))
}

// gate is reclaim's gate on c's runtime, under the Epilogue policy and the
// shim's bounds.
func (s *Shim) gate(c *runtimeContainer) *reclaim.Gate {
	return &reclaim.Gate{Policy: reclaim.Epilogue, Bounds: s.cfg.Bounds, Source: source{c}}
}

// source is the runtime's completion state for reclaim.Gate: status from
// the runtime, and waits that end at quiescence (/epilogue/await) or at a
// pushed event, whichever comes first. The gate confirms either with a
// fresh status.
type source struct {
	c *runtimeContainer
}

var _ reclaim.Source = source{}

func (src source) Status(ctx context.Context) (completion.Snapshot, error) {
	return src.c.status.Status(ctx)
}

func (src source) AwaitQuiescent(ctx context.Context, timeout time.Duration) (completion.Snapshot, error) {
	woken := src.c.woken()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		snap completion.Snapshot
		err  error
	}
	res := make(chan result, 1)
	go func() {
		snap, err := src.c.status.AwaitQuiescent(ctx, timeout)
		res <- result{snap, err}
	}()
	select {
	case r := <-res:
		return r.snap, r.err
	case <-woken:
		cancel()
		<-res
		return completion.Snapshot{}, nil
	}
}
