package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/epilogue-dev/epilogue/completion"
	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
)

// env is what both parts work on. Its clean-ups undo the set-up, last
// first.
type env struct {
	dir    string // the shim's socket, journal and log
	shim   *shimProc
	notify string // the shim's --notify-listen
	prefix string // of the names of this run's containers
	// daemon makes the set-up, clean-up and event calls directly; viaShim
	// creates and starts the containers through the shim, as the invoker's
	// CLI does. Neither is measured.
	daemon, viaShim *client.Client
	// direct and shimmed are the measured raw clients.
	direct, shimmed *target
	runtime, other  benchContainer
	rt              *runtimeProxy
	cleanups        []func(context.Context) error
}

// benchContainer is a container the benchmark created.
type benchContainer struct {
	id, name string
}

// onCleanUp registers f to run at clean-up.
func (e *env) onCleanUp(f func(context.Context) error) { e.cleanups = append(e.cleanups, f) }

// cleanUp runs the clean-ups, last first, each within setupBound, even
// after ^C. It returns what failed.
func (e *env) cleanUp() error {
	var errs []error
	for _, f := range slices.Backward(e.cleanups) {
		ctx, cancel := context.WithTimeout(context.Background(), setupBound)
		errs = append(errs, f(ctx))
		cancel()
	}
	e.cleanups = nil
	return errors.Join(errs...)
}

// setUp starts the shim and the two containers. The env it returns is never
// nil: clean it up even on error.
func setUp(ctx context.Context, cfg *config) (*env, error) {
	e := &env{}
	dockerSock, ok := strings.CutPrefix(cfg.Docker, "unix://")
	if !ok {
		return e, fmt.Errorf("-docker %q: give the daemon's unix socket, unix:///var/run/docker.sock", cfg.Docker)
	}
	action, err := os.ReadFile(cfg.ActionBin)
	if err != nil {
		return e, fmt.Errorf("%w (run CGO_ENABLED=0 go build -o %s ./tests/testaction)", err, cfg.ActionBin)
	}
	for _, bin := range []string{cfg.ShimBin, cfg.ProxyBin} {
		if _, err := os.Stat(bin); err != nil {
			return e, fmt.Errorf("%w (run make build)", err)
		}
	}
	if e.daemon, err = client.NewClientWithOpts(client.WithHost(cfg.Docker), client.WithAPIVersionNegotiation()); err != nil {
		return e, fmt.Errorf("a Docker client for %s: %w", cfg.Docker, err)
	}
	e.onCleanUp(func(context.Context) error { return e.daemon.Close() })
	sctx, cancel := context.WithTimeout(ctx, stateBound)
	defer cancel()
	ping, err := e.daemon.Ping(sctx)
	if err != nil {
		return e, fmt.Errorf("the Docker daemon at %s does not answer: %w; is it running?", cfg.Docker, err)
	}
	e.daemon.NegotiateAPIVersionPing(ping) // before concurrent use: lazy negotiation races

	if _, err := e.daemon.ImageInspect(sctx, cfg.Image); err != nil {
		return e, fmt.Errorf("image %s: %w (run make image)", cfg.Image, err)
	}
	e.notify = cfg.Notify
	if e.notify == "" {
		if e.notify, err = bridgeAddr(sctx, e.daemon); err != nil {
			return e, fmt.Errorf("%w; give -notify-listen HOST:0, an address of this machine the containers reach", err)
		}
	}

	if e.dir, err = os.MkdirTemp("", namePrefix); err != nil {
		return e, err
	}
	e.onCleanUp(func(context.Context) error { return os.RemoveAll(e.dir) })
	sock := filepath.Join(e.dir, "docker.sock")
	e.direct = newTarget("direct", dockerSock, cfg.Timeout)
	e.shimmed = newTarget("shim", sock, cfg.Timeout)
	if e.shim, err = startShim(ctx, cfg.ShimBin, e.dir, cfg.Docker, e.notify, cfg.ShimLog, e.shimmed); err != nil {
		return e, err
	}
	e.onCleanUp(func(context.Context) error { return e.shim.stop() })
	if e.viaShim, err = client.NewClientWithOpts(client.WithHost("unix://"+sock), client.WithAPIVersionNegotiation()); err != nil {
		return e, err
	}
	e.onCleanUp(func(context.Context) error { return e.viaShim.Close() })

	other, err := e.buildOtherImage(ctx, cfg.ProxyBin)
	if err != nil {
		return e, err
	}
	e.prefix = namePrefix + strconv.Itoa(os.Getpid()) + "-"
	if e.runtime, err = e.openwhiskRun(ctx, cfg.Image, e.prefix+"runtime"); err != nil {
		return e, err
	}
	if e.other, err = e.openwhiskRun(ctx, other, e.prefix+"other"); err != nil {
		return e, err
	}
	if err := e.checkRewrites(ctx); err != nil {
		return e, err
	}
	e.rt, err = e.initRuntime(ctx, action, cfg.Timeout)
	return e, err
}

// bridgeAddr is this machine's address on the default bridge network, port
// 0: where the shim listens for the runtimes' pushed events.
func bridgeAddr(ctx context.Context, daemon *client.Client) (string, error) {
	info, err := daemon.NetworkInspect(ctx, "bridge", network.InspectOptions{})
	if err != nil {
		return "", fmt.Errorf("inspect the bridge network: %w", err)
	}
	var subnets []string
	for _, c := range info.IPAM.Config {
		subnets = append(subnets, c.Subnet)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	ip, err := hostAddrIn(subnets, addrs)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(ip, "0"), nil
}

// hostAddrIn returns the first IPv4 address of addrs inside one of subnets
// (CIDR): this machine's own address on a network whatever its IPAM lists
// as gateway (the default bridge may list none).
func hostAddrIn(subnets []string, addrs []net.Addr) (string, error) {
	for _, s := range subnets {
		_, n, err := net.ParseCIDR(s)
		if err != nil || n.IP.To4() == nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && n.Contains(ipn.IP) {
				return ipn.IP.String(), nil
			}
		}
	}
	return "", fmt.Errorf("no address of this machine is inside the bridge network's subnets %v", subnets)
}

// otherDockerfile makes an image of the static proxy, as epilogue/action-go
// is, under another name, so that the shim does not treat its containers as
// Epilogue runtimes.
const otherDockerfile = "FROM scratch\nCOPY epilogue-proxy /bin/epilogue-proxy\nENV OW_WAIT_FOR_ACK=1\nENTRYPOINT [\"/bin/epilogue-proxy\"]\n"

// buildOtherImage builds that image with the docker CLI, directly against
// the daemon, and returns its reference; it is removed at clean-up.
func (e *env) buildOtherImage(ctx context.Context, proxyBin string) (string, error) {
	ref := "epilogue/shimbench-other:" + strconv.Itoa(os.Getpid())
	dir := filepath.Join(e.dir, "other-image")
	b, err := os.ReadFile(proxyBin)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "epilogue-proxy"), b, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(otherDockerfile), 0o644); err != nil {
		return "", err
	}
	bctx, cancel := context.WithTimeout(ctx, setupBound)
	defer cancel()
	cmd := exec.CommandContext(bctx, "docker", "build", "-q", "-t", ref, dir)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.daemon.DaemonHost())
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker build %s: %w: %s", ref, err, bytes.TrimSpace(out))
	}
	e.onCleanUp(func(ctx context.Context) error {
		_, err := e.daemon.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove the image %s: %w", ref, err)
		}
		return nil
	})
	return ref, nil
}

// openwhiskRun creates and starts a container through the shim with the
// configuration of the invoker's docker run (DockerContainer.create); it is removed
// (directly, forced) at clean-up.
func (e *env) openwhiskRun(ctx context.Context, img, name string) (benchContainer, error) {
	ctx, cancel := context.WithTimeout(ctx, setupBound)
	defer cancel()
	pids := int64(1024)
	created, err := e.viaShim.ContainerCreate(ctx,
		&container.Config{Image: img, Env: []string{"__OW_API_HOST=https://apihost.invalid:443"}},
		&container.HostConfig{
			NetworkMode: "bridge",
			CapDrop:     []string{"NET_RAW", "NET_ADMIN"},
			LogConfig:   container.LogConfig{Type: "json-file"},
			Resources: container.Resources{
				CPUShares: 256, Memory: 256 << 20, MemorySwap: 256 << 20, PidsLimit: &pids,
				Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 1024}},
			},
		}, nil, nil, name)
	if err != nil {
		return benchContainer{}, fmt.Errorf("create %s through the shim: %w", name, err)
	}
	c := benchContainer{id: created.ID, name: name}
	e.onCleanUp(func(ctx context.Context) error {
		err := e.daemon.ContainerRemove(ctx, c.id, container.RemoveOptions{Force: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove the container %s: %w", c.name, err)
		}
		return nil
	})
	if err := e.viaShim.ContainerStart(ctx, c.id, container.StartOptions{}); err != nil {
		return c, fmt.Errorf("start %s through the shim: %w", name, err)
	}
	return c, nil
}

// checkRewrites checks that the shim treats the runtime container as an
// Epilogue runtime, with pushes (else no pause would be deferred, or none
// hastened by a push), and the other one not (else its calls would not be
// pass-through).
func (e *env) checkRewrites(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, stateBound)
	defer cancel()
	for _, c := range []struct {
		benchContainer
		runtime bool
	}{{e.runtime, true}, {e.other, false}} {
		info, err := e.daemon.ContainerInspect(ctx, c.id)
		if err != nil {
			return err
		}
		labelled := info.Config.Labels[invokershim.LabelInstance] != ""
		pushes := slices.ContainsFunc(info.Config.Env, func(kv string) bool { return strings.HasPrefix(kv, completion.EnvNotifyURL+"=") })
		if labelled != c.runtime || pushes != c.runtime {
			return fmt.Errorf("container %s (image %s): the shim's instance label %v and EPILOGUE_NOTIFY_URL %v, want %v: "+
				"the shim does not see it as the benchmark needs", c.name, info.Config.Image, labelled, pushes, c.runtime)
		}
	}
	return nil
}

// settleGap is how long settle lets pass after the daemon reports the
// state a pause or unpause asked for. The daemon (20.10 here) also applies
// containerd's paused and resumed events when they arrive, later: one that
// comes after the next call flips the state back (an unpause then fails
// with 500 "is not paused" and leaves the container paused, or a pause
// with 409 "is already paused"). On this machine about one back-to-back
// pair in 200 did. An invoker's unpause waits for a later activation, so it
// never follows its pause that closely.
const settleGap = 20 * time.Millisecond

// settle waits until the daemon reports container id paused, or not, then
// settleGap; it is not measured.
func (e *env) settle(ctx context.Context, id string, paused bool) error {
	ctx, cancel := context.WithTimeout(ctx, stateBound)
	defer cancel()
	for {
		info, err := e.daemon.ContainerInspect(ctx, id)
		if err != nil {
			return fmt.Errorf("waiting for the daemon to report the container paused=%v: %w", paused, err)
		}
		if info.State != nil && info.State.Paused == paused {
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-time.After(settleGap):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runtimeProxy is the runtime container's epilogue-proxy, driven as the
// invoker drives it.
type runtimeProxy struct {
	base string
	hc   *http.Client
}

// initRuntime /init's the runtime container with the fixture action, once
// it serves, and checks that the action speaks the Epilogue extension (else
// its lingering work would not be tracked).
func (e *env) initRuntime(ctx context.Context, action []byte, timeout time.Duration) (*runtimeProxy, error) {
	ictx, cancel := context.WithTimeout(ctx, stateBound)
	defer cancel()
	info, err := e.daemon.ContainerInspect(ictx, e.runtime.id)
	if err != nil {
		return nil, err
	}
	ep := info.NetworkSettings.Networks["bridge"]
	if ep == nil || ep.IPAddress == "" {
		return nil, fmt.Errorf("container %s has no address on the bridge network", e.runtime.name)
	}
	rt := &runtimeProxy{base: "http://" + net.JoinHostPort(ep.IPAddress, completion.RuntimePort), hc: &http.Client{Timeout: timeout}}
	body, _ := json.Marshal(map[string]any{"value": map[string]any{
		"binary": true, "main": "main", "code": base64.StdEncoding.EncodeToString(action),
	}})
	for {
		var buf bytes.Buffer
		_, err = do(ictx, rt.hc, http.MethodPost, rt.base+"/init", body, http.StatusOK, &buf)
		if err == nil {
			break
		}
		var status *statusError
		if errors.As(err, &status) || ictx.Err() != nil {
			return nil, fmt.Errorf("/init of the runtime container: %w", err)
		}
		time.Sleep(50 * time.Millisecond) // not serving yet
	}
	var buf bytes.Buffer
	if _, err := do(ictx, rt.hc, http.MethodGet, rt.base+completion.StatusPath, nil, http.StatusOK, &buf); err != nil {
		return nil, err
	}
	var snap completion.Snapshot
	if err := json.Unmarshal(buf.Bytes(), &snap); err != nil || !strings.HasPrefix(snap.Protocol, "epilogue/") {
		return nil, fmt.Errorf("the runtime's status after /init says protocol %q (%v), want epilogue/…", snap.Protocol, err)
	}
	return rt, nil
}
