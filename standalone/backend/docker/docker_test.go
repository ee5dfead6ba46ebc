package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/backend/backendtest"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

const (
	testImage  = "epilogue/action-go:latest"
	apiHost    = "https://apihost.invalid:443"
	testBound  = 2 * time.Minute // far above a busy machine's Docker calls
	staleAfter = 10 * time.Minute
)

// namePrefix keeps clear of the wsk0_ containers a local invoker or
// standalone would remove, of tests/e2e's wsk99_, and of another run of
// these tests on the same engine (the pid and a random part).
var namePrefix = fmt.Sprintf("wsk98_%d%s_", os.Getpid(), randomHex(3))

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	t.Cleanup(cancel)
	return ctx
}

// requireEngine returns a client of a reachable engine that holds image
// (the test fails under CI=true otherwise) and removes containers left by
// an interrupted run of these tests.
func requireEngine(t *testing.T) *client.Client {
	t.Helper()
	cli := testenv.RequireDocker(t)
	testenv.RequireImage(t, cli, testImage)
	ctx := testCtx(t)
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", backendtest.LabelKey))})
	require.NoError(t, err)
	for _, s := range list {
		if time.Since(time.Unix(s.Created, 0)) > staleAfter {
			if err := cli.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err == nil {
				t.Logf("removed stale container %s %v", s.ID[:12], s.Names)
			}
		}
	}
	return cli
}

func newTestBackend(t *testing.T, cli *client.Client) *Backend {
	t.Helper()
	b, err := New(testCtx(t), Config{Client: cli, APIHost: apiHost, NamePrefix: namePrefix})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testBound)
		defer cancel()
		assert.NoError(t, b.Close(ctx))
	})
	return b
}

func TestConformance(t *testing.T) {
	cli := requireEngine(t)
	backendtest.Run(t, func(t *testing.T) backend.Backend { return newTestBackend(t, cli) }, testImage, testenv.BuildStatic(t, "./tests/testaction"))
}

// TestCreateParameters: the container gets DockerContainerFactory's
// parameters (DockerContainer.create in OpenWhisk's invoker), the Spec's memory, environment
// and labels, and this backend's labels.
func TestCreateParameters(t *testing.T) {
	cli := requireEngine(t)
	b := newTestBackend(t, cli)
	ctx := testCtx(t)
	name := fmt.Sprintf("%d_%d_guest_params", os.Getpid(), time.Now().UnixNano()%1e9)
	c, err := b.Create(ctx, backend.Spec{
		Name: name, Image: testImage, MemoryMB: 128,
		Env:    map[string]string{"EPILOGUE_SEMANTICS": "overlap"},
		Labels: map[string]string{backendtest.LabelKey: "1", "dev.epilogue.test.case": "params"},
	})
	require.NoError(t, err)
	assert.Equal(t, namePrefix+name, c.Name())

	info, err := cli.ContainerInspect(ctx, c.ID())
	require.NoError(t, err)
	assert.Equal(t, "/"+namePrefix+name, info.Name)
	h := info.HostConfig
	assert.Equal(t, int64(128<<20), h.Memory, "Memory")
	assert.Equal(t, int64(128<<20), h.MemorySwap, "MemorySwap")
	assert.Equal(t, int64(128), h.CPUShares, "CPUShares")
	require.NotNil(t, h.PidsLimit)
	assert.Equal(t, int64(1024), *h.PidsLimit, "PidsLimit")
	require.Len(t, h.Ulimits, 1)
	assert.Equal(t, container.Ulimit{Name: "nofile", Soft: 1024, Hard: 1024}, *h.Ulimits[0])
	assert.Equal(t, "json-file", h.LogConfig.Type)
	assert.Equal(t, container.NetworkMode("bridge"), h.NetworkMode)
	var dropped []string
	for _, c := range h.CapDrop {
		dropped = append(dropped, strings.TrimPrefix(c, "CAP_")) // as the engine normalised it, or not
	}
	assert.ElementsMatch(t, []string{"NET_RAW", "NET_ADMIN"}, dropped, "CapDrop")
	assert.False(t, h.AutoRemove)
	assert.Subset(t, info.Config.Env, []string{"__OW_API_HOST=" + apiHost, "EPILOGUE_SEMANTICS=overlap", "OW_WAIT_FOR_ACK=1"})
	assert.Equal(t, map[string]string{
		backendtest.LabelKey: "1", "dev.epilogue.test.case": "params",
		LabelBackend: "docker", LabelOwner: b.Owner(),
	}, info.Config.Labels)
	assert.Equal(t, info.NetworkSettings.Networks["bridge"].IPAddress+":8080", c.Addr())
}

// TestDefaultMemory: MemoryMB 0 is OpenWhisk's 256 MB default, 256 shares.
func TestDefaultMemory(t *testing.T) {
	cli := requireEngine(t)
	b := newTestBackend(t, cli)
	ctx := testCtx(t)
	c, err := b.Create(ctx, backend.Spec{Name: fmt.Sprintf("%d_%d_guest_mem", os.Getpid(), time.Now().UnixNano()%1e9),
		Image: testImage, Labels: map[string]string{backendtest.LabelKey: "1"}})
	require.NoError(t, err)
	info, err := cli.ContainerInspect(ctx, c.ID())
	require.NoError(t, err)
	assert.Equal(t, int64(256<<20), info.HostConfig.Memory)
	assert.Equal(t, int64(256), info.HostConfig.CPUShares)
}

// TestMissingImage: the backend never pulls, and says what to run.
func TestMissingImage(t *testing.T) {
	cli := requireEngine(t)
	b := newTestBackend(t, cli)
	c, err := b.Create(testCtx(t), backend.Spec{Name: "missing", Image: "epilogue/backend-no-such-image:none"})
	assert.Nil(t, c)
	require.Error(t, err)
	assert.True(t, cerrdefs.IsNotFound(err), "the engine's not-found error is wrapped: %v", err)
	assert.ErrorIs(t, err, backend.ErrImageMissing)
	assert.Contains(t, err.Error(), "run `make image`")
	assert.Contains(t, err.Error(), `"epilogue/backend-no-such-image:none"`)
}

// TestCloseLeavesOthers: Close removes its own containers only, even from
// another backend with the same name prefix on the same engine.
func TestCloseLeavesOthers(t *testing.T) {
	cli := requireEngine(t)
	mine, other := newTestBackend(t, cli), newTestBackend(t, cli)
	ctx := testCtx(t)
	suffix := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	labels := map[string]string{backendtest.LabelKey: "1"}
	c1, err := mine.Create(ctx, backend.Spec{Name: "mine_" + suffix, Image: testImage, Labels: labels})
	require.NoError(t, err)
	c2, err := other.Create(ctx, backend.Spec{Name: "other_" + suffix, Image: testImage, Labels: labels})
	require.NoError(t, err)
	require.NoError(t, mine.Close(ctx))
	_, err = cli.ContainerInspect(ctx, c1.ID())
	assert.True(t, cerrdefs.IsNotFound(err), "inspect the closed backend's container: %v", err)
	info, err := cli.ContainerInspect(ctx, c2.ID())
	require.NoError(t, err)
	assert.True(t, info.State.Running)
}

// TestPausedState: Pause is the engine's pause.
func TestPausedState(t *testing.T) {
	cli := requireEngine(t)
	b := newTestBackend(t, cli)
	ctx := testCtx(t)
	c, err := b.Create(ctx, backend.Spec{Name: fmt.Sprintf("%d_%d_guest_pause", os.Getpid(), time.Now().UnixNano()%1e9),
		Image: testImage, Labels: map[string]string{backendtest.LabelKey: "1"}})
	require.NoError(t, err)
	require.NoError(t, c.Pause(ctx))
	info, err := cli.ContainerInspect(ctx, c.ID())
	require.NoError(t, err)
	assert.True(t, info.State.Paused)
	assert.Equal(t, "paused", info.State.Status)

	// Removed behind the backend's back: Pause reports ErrRemoved, Remove succeeds.
	require.NoError(t, cli.ContainerRemove(ctx, c.ID(), container.RemoveOptions{Force: true}))
	assert.ErrorIs(t, c.Unpause(ctx), backend.ErrRemoved)
	assert.NoError(t, c.Remove(ctx))
}

func TestCPUShares(t *testing.T) {
	for _, tc := range []struct {
		memory, user int
		want         int64
	}{
		{256, 1024, 256},
		{128, 1024, 128},
		{512, 1024, 512},
		{200, 1024, 204}, // 1024 / (1024/200 = 5)
		{1024, 1024, 1024},
		{2048, 1024, 1024}, // larger than the pool
		{1, 1024, 2},       // at least 2
		{256, 2048, 128},
	} {
		t.Run(fmt.Sprintf("%d of %d", tc.memory, tc.user), func(t *testing.T) {
			assert.Equal(t, tc.want, CPUShares(tc.memory, tc.user))
		})
	}
}

func TestContainerName(t *testing.T) {
	b := newBackend(nil, Config{})
	assert.Equal(t, "wsk0_3_guest_hello", b.ContainerName(backend.Spec{Name: "3_guest_hello"}))
	assert.Equal(t, "wsk0_3_guest_hello", b.ContainerName(backend.Spec{Name: "wsk0_3_guest_hello"}))
	b = newBackend(nil, Config{NamePrefix: "wsk7_"})
	assert.Equal(t, "wsk7_wsk0_3_guest_hello", b.ContainerName(backend.Spec{Name: "wsk0_3_guest_hello"}))
}

// TestRemoveLeftovers: a new backend removes what a dead one with its
// prefix left (paused or not), and nothing of its own or of other prefixes.
func TestRemoveLeftovers(t *testing.T) {
	cli := requireEngine(t)
	ctx := testCtx(t)
	run := fmt.Sprintf("%d%s", os.Getpid(), randomHex(3)) // apart from another run's
	prefix := fmt.Sprintf("wsk95_%s_", run)
	newBackend := func(prefix string) *Backend {
		b, err := New(ctx, Config{Client: cli, NamePrefix: prefix})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testBound)
			defer cancel()
			assert.NoError(t, b.Close(ctx))
		})
		return b
	}
	labels := map[string]string{backendtest.LabelKey: "1"}
	dead, unrelated := newBackend(prefix), newBackend(fmt.Sprintf("wsk94_%s_", run))
	left, err := dead.Create(ctx, backend.Spec{Name: "left", Image: testImage, Labels: labels})
	require.NoError(t, err)
	require.NoError(t, left.Pause(ctx))
	kept, err := unrelated.Create(ctx, backend.Spec{Name: "kept", Image: testImage, Labels: labels})
	require.NoError(t, err)

	live := newBackend(prefix)
	own, err := live.Create(ctx, backend.Spec{Name: "own", Image: testImage, Labels: labels})
	require.NoError(t, err)
	n, err := live.RemoveLeftovers(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = cli.ContainerInspect(ctx, left.ID())
	assert.True(t, cerrdefs.IsNotFound(err), "the leftover is gone: %v", err)
	for _, c := range []backend.Container{own, kept} {
		_, err := cli.ContainerInspect(ctx, c.ID())
		assert.NoError(t, err, "%s is kept", c.Name())
	}
}
