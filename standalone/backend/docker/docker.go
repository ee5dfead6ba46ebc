package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/epilogue-dev/epilogue/standalone/backend"
)

// Labels this backend puts on every container, besides Spec.Labels.
const (
	// LabelBackend is "docker": the container belongs to an Epilogue
	// standalone backend.
	LabelBackend = "dev.epilogue.standalone.backend"
	// LabelOwner is the ID of the Backend that created the container.
	LabelOwner = "dev.epilogue.standalone.owner"
)

// Defaults.
const (
	// DefaultNetwork is the network of the containers when Config.Network is "".
	DefaultNetwork = "bridge"
	// DefaultNamePrefix is the name prefix when Config.NamePrefix is "":
	// the invoker instance 0's.
	DefaultNamePrefix = "wsk0_"
	// DefaultUserMemoryMB is the pool memory when Config.UserMemoryMB is 0:
	// OpenWhisk's whisk.container-pool.user-memory default.
	DefaultUserMemoryMB = 1024
	// ProxyPort is where the proxy listens inside the container.
	ProxyPort = "8080"
)

// Fixed container parameters of OpenWhisk's DockerContainerFactory.
const (
	pidsLimit  = 1024
	nofile     = 1024
	logDriver  = "json-file"
	totalShare = 1024 // Docker's full CPU share
)

// cleanupTimeout bounds the removal of a container whose Create failed.
const cleanupTimeout = 30 * time.Second

// Config configures the Docker backend. Its zero value uses the engine named
// by the environment (DOCKER_HOST etc.).
type Config struct {
	// Client is the engine's client; nil = client.FromEnv with API version
	// negotiation, closed by Close. A given client is not closed.
	Client *client.Client
	// Host is the engine's address when Client is nil, e.g.
	// "unix:///run/epilogue/docker.sock" (an invoker shim in front of the
	// daemon); "" = the environment's (DOCKER_HOST, else the default).
	Host string
	// Network is the network the containers join and are reached on;
	// "" = DefaultNetwork. It must give containers an IP address reachable
	// from this process (not "host" or "none").
	Network string
	// APIHost is every container's __OW_API_HOST (Spec.Env may override
	// it); "" = unset.
	APIHost string
	// NamePrefix is prepended to Spec.Name unless the name already starts
	// with it; "" = DefaultNamePrefix.
	NamePrefix string
	// UserMemoryMB is the memory of the whole pool, from which cpu-shares
	// are derived as OpenWhisk does: 1024 / (UserMemoryMB / MemoryMB),
	// integer division, at least 2; 0 = DefaultUserMemoryMB.
	UserMemoryMB int
}

// Backend runs containers in a Docker engine. It is safe for concurrent use.
type Backend struct {
	eng        engine
	owned      *client.Client // closed by Close; nil when the client was given
	host       string         // the engine's address, for messages
	network    string
	prefix     string
	userMemory int
	owner      string // the LabelOwner value

	mu        sync.Mutex
	apiHost   string                      // guarded by mu
	live      map[string]*dockerContainer // by container ID; guarded by mu
	closed    bool                        // guarded by mu
	creating  sync.WaitGroup              // Creates in flight; Add under mu while !closed
	closeOnce sync.Once
}

var _ backend.Backend = (*Backend)(nil)

// New connects to the engine (a ping, which also negotiates the API
// version) and returns a backend.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cli, owned := cfg.Client, (*client.Client)(nil)
	if cli == nil {
		var err error
		opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
		if cfg.Host != "" {
			opts = append(opts, client.WithHost(cfg.Host))
		}
		cli, err = client.NewClientWithOpts(opts...)
		if err != nil {
			return nil, fmt.Errorf("backend/docker: configure the Docker client (check DOCKER_HOST, DOCKER_CERT_PATH): %w", err)
		}
		owned = cli
	}
	ping, err := cli.Ping(ctx)
	if err != nil {
		if owned != nil {
			_ = owned.Close()
		}
		return nil, fmt.Errorf("backend/docker: the Docker engine at %s is unreachable: is it running? (or use --backend process): %w", cli.DaemonHost(), err)
	}
	// Negotiate now, before concurrent calls: the client's lazy
	// negotiation writes its version while other calls read it.
	cli.NegotiateAPIVersionPing(ping)
	b := newBackend(cli, cfg)
	b.owned, b.host = owned, cli.DaemonHost()
	return b, nil
}

// newBackend applies cfg's defaults; eng is the engine to use.
func newBackend(eng engine, cfg Config) *Backend {
	b := &Backend{
		eng: eng, host: "the Docker engine", network: cfg.Network, apiHost: cfg.APIHost, prefix: cfg.NamePrefix,
		userMemory: cfg.UserMemoryMB, owner: newOwnerID(), live: map[string]*dockerContainer{},
	}
	if b.network == "" {
		b.network = DefaultNetwork
	}
	if b.prefix == "" {
		b.prefix = DefaultNamePrefix
	}
	if b.userMemory <= 0 {
		b.userMemory = DefaultUserMemoryMB
	}
	return b
}

func newOwnerID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// SetAPIHost sets the __OW_API_HOST of the containers created from now on
// (Config.APIHost until then): a server learns the address at which
// containers reach it from Gateway, after New.
func (b *Backend) SetAPIHost(url string) {
	b.mu.Lock()
	b.apiHost = url
	b.mu.Unlock()
}

// Name returns "docker".
func (b *Backend) Name() string { return "docker" }

// Owner returns the value of LabelOwner on this backend's containers.
func (b *Backend) Owner() string { return b.owner }

// ContainerName returns the Docker name of a container of spec.
func (b *Backend) ContainerName(spec backend.Spec) string {
	if strings.HasPrefix(spec.Name, b.prefix) {
		return spec.Name
	}
	return b.prefix + spec.Name
}

// CPUShares returns the cpu-shares of a container of memoryMB, as
// OpenWhisk's ContainerPoolConfig.cpuShare: 1024 / (user memory / memory),
// the division in whole numbers, at least 2. A container larger than the
// whole pool gets 1024 (OpenWhisk would divide by zero).
func CPUShares(memoryMB, userMemoryMB int) int64 {
	ratio := userMemoryMB / memoryMB
	if ratio < 1 {
		ratio = 1
	}
	return max(int64(totalShare/ratio), 2)
}

// Create creates and starts a container of spec and returns it once it runs.
// A missing image is an error wrapping the engine's not-found error (the
// backend never pulls).
func (b *Backend) Create(ctx context.Context, spec backend.Spec) (backend.Container, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, backend.ErrClosed
	}
	b.creating.Add(1)
	b.mu.Unlock()
	defer b.creating.Done()

	c, err := b.create(ctx, spec)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.live[c.id] = c
	b.mu.Unlock()
	return c, nil
}

func (b *Backend) create(ctx context.Context, spec backend.Spec) (*dockerContainer, error) {
	name := b.ContainerName(spec)
	memory := int64(spec.Memory()) << 20
	env := map[string]string{}
	b.mu.Lock()
	if b.apiHost != "" {
		env["__OW_API_HOST"] = b.apiHost
	}
	b.mu.Unlock()
	maps.Copy(env, spec.Env)
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelBackend] = "docker"
	labels[LabelOwner] = b.owner
	pids := int64(pidsLimit)

	created, err := b.eng.ContainerCreate(ctx,
		&container.Config{Image: spec.Image, Env: envList, Labels: labels},
		&container.HostConfig{
			NetworkMode: container.NetworkMode(b.network),
			LogConfig:   container.LogConfig{Type: logDriver},
			CapDrop:     []string{"NET_RAW", "NET_ADMIN"},
			Resources: container.Resources{
				CPUShares:  CPUShares(spec.Memory(), b.userMemory),
				Memory:     memory,
				MemorySwap: memory,
				PidsLimit:  &pids,
				Ulimits:    []*container.Ulimit{{Name: "nofile", Soft: nofile, Hard: nofile}},
			},
		},
		nil, nil, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			if _, ierr := b.eng.ImageInspect(ctx, spec.Image); cerrdefs.IsNotFound(ierr) {
				return nil, fmt.Errorf("backend/docker: image %q is not in %s and this backend never pulls (%w): run `make image` for epilogue/action-go, or pull or build %q first: %w",
					spec.Image, b.host, backend.ErrImageMissing, spec.Image, err)
			}
		}
		return nil, fmt.Errorf("backend/docker: create container %s: %w", name, err)
	}
	c := newContainer(b, created.ID, name)
	fail := func(err error) (*dockerContainer, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if rerr := c.Remove(ctx); rerr != nil {
			err = fmt.Errorf("%w (and removing it failed: %v)", err, rerr)
		}
		return nil, err
	}
	if err := b.eng.ContainerStart(ctx, c.id, container.StartOptions{}); err != nil {
		return fail(fmt.Errorf("backend/docker: start container %s: %w", name, err))
	}
	info, err := b.eng.ContainerInspect(ctx, c.id)
	if err != nil {
		return fail(fmt.Errorf("backend/docker: inspect container %s: %w", name, err))
	}
	if info.State == nil || !info.State.Running {
		return fail(fmt.Errorf("backend/docker: container %s is not running after its start: %s", name, describe(info.State)))
	}
	var ip string
	if info.NetworkSettings != nil {
		if ep := info.NetworkSettings.Networks[b.network]; ep != nil {
			ip = ep.IPAddress
		}
	}
	if ip == "" {
		return fail(fmt.Errorf("backend/docker: container %s has no IP address on network %q: use a bridge or user-defined network", name, b.network))
	}
	c.addr = ip + ":" + ProxyPort
	return c, nil
}

func describe(s *container.State) string {
	if s == nil {
		return "no state"
	}
	d := fmt.Sprintf("status %s, exit code %d", s.Status, s.ExitCode)
	if s.Error != "" {
		d += ", error " + s.Error
	}
	if s.OOMKilled {
		d += ", OOM-killed"
	}
	return d
}

// forget drops a removed container.
func (b *Backend) forget(c *dockerContainer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.live, c.id)
}

// Close removes every container of this backend (those it knows of and any
// other carrying its LabelOwner), then closes the client if New made it.
// Later Creates fail with backend.ErrClosed. It waits for Creates in
// flight, within ctx.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	if err := backend.WaitCreates(ctx, &b.creating); err != nil {
		return fmt.Errorf("backend/docker: close: %w", err)
	}

	b.mu.Lock()
	all := slices.Collect(maps.Values(b.live))
	b.mu.Unlock()
	var errs []error
	list, err := b.eng.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelOwner+"="+b.owner))})
	if err != nil {
		errs = append(errs, fmt.Errorf("backend/docker: close: list containers: %w", err))
	}
	for _, s := range list {
		if !slices.ContainsFunc(all, func(c *dockerContainer) bool { return c.id == s.ID }) {
			all = append(all, newContainer(b, s.ID, strings.TrimPrefix(firstOr(s.Names, s.ID), "/")))
		}
	}
	errs = append(errs, backend.RemoveAll(ctx, all))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.closeOnce.Do(func() {
		if b.owned != nil {
			err = b.owned.Close()
		}
	})
	return err
}

func firstOr(names []string, def string) string {
	if len(names) > 0 {
		return names[0]
	}
	return def
}

// RemoveLeftovers removes the containers that another, earlier backend with
// this one's name prefix left behind (one that was killed before its
// Close), as OpenWhisk's invoker removes every wsk<N>_ container when it
// starts. Two live backends must therefore not share a prefix. It returns
// how many containers it removed.
func (b *Backend) RemoveLeftovers(ctx context.Context) (int, error) {
	list, err := b.eng.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", LabelBackend+"=docker"), filters.Arg("name", b.prefix))})
	if err != nil {
		return 0, fmt.Errorf("backend/docker: list leftover containers: %w", err)
	}
	var stale []*dockerContainer
	for _, s := range list {
		name := strings.TrimPrefix(firstOr(s.Names, s.ID), "/")
		// The engine's name filter matches anywhere in the name.
		if s.Labels[LabelOwner] != b.owner && strings.HasPrefix(name, b.prefix) {
			stale = append(stale, newContainer(b, s.ID, name))
		}
	}
	return len(stale), backend.RemoveAll(ctx, stale)
}
