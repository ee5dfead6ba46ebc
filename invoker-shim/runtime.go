package invokershim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
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

// runtimeContainer is a container running the Epilogue runtime.
type runtimeContainer struct {
	id, name string
	instance string // its events' instance; "" if it was not created through the shim
	status   *completion.Client

	// mu serialises the container's intercepted calls and guards pause and held.
	mu sync.Mutex
	// pause is the deferred pause not yet done for real; held is the
	// removal, kill or stop waiting for the runtime.
	pause, held *deferredOp

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

// errNotFound: the daemon has no such container.
var errNotFound = fmt.Errorf("invokershim: no such container")

// lookup returns the runtime container ref names, nil if it is not an
// Epilogue runtime, or errNotFound.
func (s *Shim) lookup(ctx context.Context, ref string) (*runtimeContainer, container.InspectResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, daemonTimeout)
	defer cancel()
	info, err := s.daemon.ContainerInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
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
	if instance == "" && labels[LabelRuntime] == "" && !isRuntimeImage(image, s.cfg.RuntimeImages) {
		return nil, info, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.containers[info.ID]; ok {
		return c, info, nil
	}
	c := &runtimeContainer{
		id: info.ID, name: strings.TrimPrefix(info.Name, "/"), instance: instance,
		status: &completion.Client{BaseURL: "http://" + runtimeAddr(info), HTTP: statusHTTP},
		wake:   make(chan struct{}),
	}
	s.containers[c.id] = c
	if instance != "" {
		s.byInstance[instance] = c
	}
	return c, info, nil
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
	c, _, err = s.lookup(ctx, list[0].ID)
	if err != nil {
		return nil
	}
	return c
}

// forget drops a removed container.
func (s *Shim) forget(c *runtimeContainer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.containers, c.id)
	if c.instance != "" {
		delete(s.byInstance, c.instance)
	}
}

// runtimeAddr is where the container's runtime serves: its first network
// address, port 8080. A container without one cannot be asked; the reclaim
// bound then applies.
func runtimeAddr(info container.InspectResponse) string {
	if info.NetworkSettings != nil {
		for _, ep := range info.NetworkSettings.Networks {
			if ep != nil && ep.IPAddress != "" {
				return net.JoinHostPort(ep.IPAddress, completion.RuntimePort)
			}
		}
	}
	return net.JoinHostPort("0.0.0.0", "1") // refused at once: "does not answer"
}

// token is the container's notify token: HMAC(key, instance), so the shim
// needs no table of tokens to survive a restart.
func (s *Shim) token(instance string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("epilogue-notify-token:" + instance))
	return hex.EncodeToString(m.Sum(nil))
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
