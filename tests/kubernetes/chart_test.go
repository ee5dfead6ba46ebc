package kubernetes

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/postrenderer"

	"github.com/epilogue-dev/epilogue/kube"
	"github.com/epilogue-dev/epilogue/kube/kubetest"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// The stand-in cannot drift from deploy-kube: rendered as kube/testdata's
// real renders were (release owdev, namespace openwhisk, the overlay, the
// same --set), its invoker is the same object.
func TestStandInMatchesDeployKube(t *testing.T) {
	tests := []struct {
		name, real string
		set        []string
	}{
		{"kubernetes", "owdev-kubernetes.yaml", nil},
		{"kubernetes time.max 10m", "owdev-kubernetes-10m.yaml", []string{"whisk.limits.actions.time.max=10m"}},
		{"docker", "owdev-docker.yaml", []string{"invoker.containerFactory.impl=docker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := render(t, valuesOf(t, []string{overlay}, tt.set), nil)
			require.NoError(t, err)
			got := kubetest.DecodeStrict(t, []byte(out))
			want := kubetest.DecodeStrict(t, readRealRender(t, tt.real))
			id := "StatefulSet owdev-invoker"
			if strings.Contains(tt.name, "docker") {
				id = "DaemonSet owdev-invoker"
			}
			require.Contains(t, want, id)
			require.Contains(t, got, id, "the stand-in renders no %s", id)
			assert.Equal(t, want[id], got[id], "the stand-in's invoker differs from deploy-kube's (%s): fix testdata/openwhisk", tt.real)
			// What the invoker refers to by name is in the stand-in too.
			for _, ref := range []string{"ConfigMap owdev-whisk.config", "ConfigMap owdev-db.config", "Secret owdev-db.auth", "Service owdev-controller", "StatefulSet owdev-controller"} {
				assert.Contains(t, want, ref)
				assert.Contains(t, got, ref)
			}
			// What the recoverer (--tasks-redis) is built from is deploy-kube's.
			for _, ref := range []string{"Service owdev-controller", "Secret owdev-whisk.auth"} {
				assert.Equal(t, want[ref], got[ref], "the stand-in's %s differs from deploy-kube's (%s): fix testdata/openwhisk", ref, tt.real)
			}
		})
	}
}

// A values set: what it renders and what the post-renderer must make of it.
type valuesSet struct {
	name string
	set  []string
	opt  kube.Options
	// factory is the container factory the values choose.
	factory kube.Factory
}

var valuesSets = []valuesSet{
	{name: "kubernetes", factory: kube.FactoryKubernetes},
	{name: "kubernetes with a longer time limit", set: []string{"whisk.limits.actions.time.max=15m"},
		opt: kube.Options{MaxLinger: 2 * time.Minute}, factory: kube.FactoryKubernetes},
	{name: "docker", set: []string{"invoker.containerFactory.impl=docker"},
		opt: kube.Options{ShimImage: "epilogue/shim:0.1.0"}, factory: kube.FactoryDocker},
	{name: "docker with a registry", set: []string{"invoker.containerFactory.impl=docker", "docker.registry.name=registry.example.com/", "docker.registry.username=ow", "docker.registry.password=secret"},
		opt: kube.Options{ShimImage: "registry.example.com/epilogue/shim:0.1.0", MaxLinger: 90 * time.Second}, factory: kube.FactoryDocker},
	{name: "kubernetes with durable tasks", opt: kube.Options{TasksRedis: "redis.tasks:6379", TasksLease: time.Minute, RecovererImage: "epilogue/epilogue:0.1.0"}, factory: kube.FactoryKubernetes},
	{name: "docker with durable tasks", set: []string{"invoker.containerFactory.impl=docker"},
		opt: kube.Options{ShimImage: "epilogue/shim:0.1.0", TasksRedis: "redis://redis.tasks:6379/1", RecovererImage: "epilogue/epilogue:0.1.0", RecovererAuthKey: "system"}, factory: kube.FactoryDocker},
}

// timeLimit is the values' whisk.limits.actions.time.max.
func timeLimit(t *testing.T, vals map[string]any) time.Duration {
	t.Helper()
	v := any(vals)
	for _, k := range []string{"whisk", "limits", "actions", "time", "max"} {
		m, ok := v.(map[string]any)
		require.True(t, ok, "no whisk.limits.actions.time.max in the values")
		v = m[k]
	}
	s, ok := v.(string)
	require.True(t, ok, "whisk.limits.actions.time.max is %T", v)
	d, err := time.ParseDuration(s)
	require.NoError(t, err)
	return d
}

func TestLint(t *testing.T) {
	for _, vs := range valuesSets {
		t.Run(vs.name, func(t *testing.T) {
			assert.Empty(t, lint(valuesOf(t, []string{overlay}, vs.set)))
		})
	}
	// The chart accepts runc; the post-renderer is what refuses it.
	assert.Empty(t, lint(valuesOf(t, []string{overlay}, []string{"invoker.containerFactory.impl=docker", "invoker.containerFactory.useRunc=true"})))
	assert.NotEmpty(t, lint(map[string]any{"invoker": "not a map"}), "lint passes anything")
}

// identity is a post-renderer that changes nothing: Helm 4 re-encodes what
// passes through a post-renderer, so Helm's output through it is what the
// objects the post-renderer does not patch must be byte for byte.
type identity struct{}

func (identity) Run(in *bytes.Buffer) (*bytes.Buffer, error) { return bytes.NewBuffer(in.Bytes()), nil }

func TestPostRenderThroughHelm(t *testing.T) {
	settings := installPlugin(t)
	for _, vs := range valuesSets {
		t.Run(vs.name, func(t *testing.T) {
			vals := valuesOf(t, []string{overlay}, vs.set)
			plain, err := render(t, vals, nil)
			require.NoError(t, err)
			reencoded, err := render(t, vals, identity{})
			require.NoError(t, err)
			before := kubetest.DecodeStrict(t, []byte(plain))
			require.Equal(t, before, kubetest.DecodeStrict(t, []byte(reencoded)), "Helm's re-encoding changed an object")

			// The three ways an operator runs the post-renderer agree.
			ways := []struct {
				name string
				pr   postrenderer.PostRenderer
			}{
				{"in-process", inProcess{vs.opt}},
				{"Helm 4 plugin", pluginRenderer(t, settings, flags(vs.opt)...)},
				{"Helm 3 executable", helm3Exec{helm3Renderer, flags(vs.opt)}},
			}
			outs := map[string]string{}
			for _, w := range ways {
				out, err := render(t, vals, w.pr)
				require.NoError(t, err, w.name)
				outs[w.name] = out
			}
			out := outs["in-process"]
			for _, w := range ways[1:] {
				assert.Equal(t, out, outs[w.name], "%s and in-process differ", w.name)
			}

			objs := kubetest.DecodeStrict(t, []byte(out))
			kubetest.AssertOthersUnchanged(t, []byte(reencoded), []byte(out), release)
			// Without Helm's re-encoding, on `helm template`'s own output.
			direct, err := kube.PostRender([]byte(trimmed(plain)), vs.opt)
			require.NoError(t, err)
			kubetest.AssertOthersUnchanged(t, []byte(trimmed(plain)), direct.Manifests, release)
			assert.Equal(t, objs, kubetest.DecodeStrict(t, direct.Manifests), "post-rendering through Helm and after it differ")
			assert.Equal(t, vs.factory, direct.Factory)

			linger := vs.opt.MaxLinger
			if linger == 0 {
				linger = reclaim.DefaultMaxLinger
			}
			switch vs.factory {
			case kube.FactoryDocker:
				kubetest.AssertDocker(t, objs, kubetest.Docker{Release: release, ShimImage: vs.opt.ShimImage, MaxLinger: linger, Before: before})
				assert.NotContains(t, objs, kubetest.ActionPodConfigMap(release))
			case kube.FactoryKubernetes:
				limit := timeLimit(t, vals)
				kubetest.AssertKubernetes(t, objs, kubetest.Kubernetes{Release: release, TimeLimit: limit, MaxLinger: linger})
				// Computed from the values, not merely at least that.
				assert.Equal(t, limit+linger, kubetest.GracePeriod(t, objs, release))
			}
			kubetest.AssertRecoverer(t, objs, kubetest.Recoverer{Release: release, TasksRedis: vs.opt.TasksRedis, Lease: vs.opt.TasksLease,
				Image: vs.opt.RecovererImage, AuthKey: vs.opt.RecovererAuthKey})

			// Post-rendering the output changes nothing, in process and
			// through the binary.
			again, err := kube.PostRender([]byte(out), vs.opt)
			require.NoError(t, err)
			assert.Equal(t, out, string(again.Manifests))
			viaBinary, err := helm3Exec{helm3Renderer, flags(vs.opt)}.Run(bytes.NewBufferString(out))
			require.NoError(t, err)
			assert.Equal(t, out, viaBinary.String())
		})
	}
}

// Values the docker factory cannot be made safe with fail the render, with
// a message that says what to change.
func TestPostRenderRefusesRunc(t *testing.T) {
	settings := installPlugin(t)
	tests := []struct {
		name string
		set  []string
		want string
	}{
		{"useRunc true", []string{"invoker.containerFactory.useRunc=true"}, "set invoker.containerFactory.useRunc: false"},
		{"use-runc in invoker.options", []string{"invoker.options=-Dwhisk.docker.container-factory.use-runc=true"}, "remove it from invoker.options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := valuesOf(t, []string{overlay}, append([]string{"invoker.containerFactory.impl=docker"}, tt.set...))
			plain, err := render(t, vals, nil)
			require.NoError(t, err, "the chart itself renders these values")

			_, err = render(t, vals, inProcess{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "runc pauses bypass the Docker daemon")
			assert.Contains(t, err.Error(), tt.want)

			_, err = render(t, vals, helm3Exec{helm3Renderer, nil})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "epilogue k8s post-render: ")
			assert.Contains(t, err.Error(), tt.want)

			// Helm 4.3.2 drops a plugin's stderr: only the failure shows.
			_, err = render(t, vals, pluginRenderer(t, settings))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "epilogue-k8s")

			_, err = kube.PostRender([]byte(plain), kube.Options{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
