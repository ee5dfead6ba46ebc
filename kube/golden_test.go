package kube_test

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/epilogue-dev/epilogue/kube"
	"github.com/epilogue-dev/epilogue/kube/kubetest"
	"github.com/epilogue-dev/epilogue/reclaim"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// The inputs are deploy-kube's chart (apache/openwhisk-deploy-kube@108f327,
// helm/openwhisk) rendered by helm v4.3.2 template, release owdev,
// namespace openwhisk, with deploy/helm/openwhisk-values.yaml: as it is
// (kubernetes factory), with invoker.containerFactory.impl=docker, and with
// whisk.limits.actions.time.max=10m. The chart's own text is elided: its
// comments, the bodies of its scripts and configuration files, and the
// runtimes manifest; every object and its structure are as rendered.
var goldenCases = []struct {
	name, input string
	factory     kube.Factory
	opt         kube.Options
	timeLimit   time.Duration // the input's whisk.limits.actions.time.max
}{
	{"docker", "owdev-docker.yaml", kube.FactoryDocker, kube.Options{ShimImage: "epilogue/shim:0.1.0"}, 5 * time.Minute},
	{"kubernetes", "owdev-kubernetes.yaml", kube.FactoryKubernetes, kube.Options{}, 5 * time.Minute},
	{"kubernetes-long-limit", "owdev-kubernetes-10m.yaml", kube.FactoryKubernetes, kube.Options{MaxLinger: 2 * time.Minute}, 10 * time.Minute},
	// With durable tasks: the store reaches the actions, and the recoverer
	// joins the release.
	{"docker-tasks", "owdev-docker.yaml", kube.FactoryDocker, kube.Options{ShimImage: "epilogue/shim:0.1.0", TasksRedis: "redis.tasks:6379", RecovererImage: "epilogue/epilogue:0.1.0"}, 5 * time.Minute},
	{"kubernetes-tasks", "owdev-kubernetes.yaml", kube.FactoryKubernetes, kube.Options{TasksRedis: "redis://redis.tasks.svc:6379/2", TasksLease: 45 * time.Second, RecovererAuthKey: "system"}, 5 * time.Minute},
}

// postRender reads a case's input and patches it.
func postRender(t *testing.T, input string, opt kube.Options) ([]byte, kube.Result) {
	t.Helper()
	in, err := os.ReadFile("testdata/" + input)
	require.NoError(t, err)
	res, err := kube.PostRender(in, opt)
	require.NoError(t, err)
	return in, res
}

func TestPostRenderGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			in, res := postRender(t, tc.input, tc.opt)
			assert.Equal(t, tc.factory, res.Factory)
			assert.Equal(t, []string{map[kube.Factory]string{kube.FactoryDocker: "DaemonSet", kube.FactoryKubernetes: "StatefulSet"}[tc.factory] + " owdev-invoker"}, res.Invokers)

			golden := "testdata/golden/" + tc.name + ".yaml"
			if *update {
				require.NoError(t, os.MkdirAll("testdata/golden", 0o755))
				require.NoError(t, os.WriteFile(golden, res.Manifests, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run go test ./kube -run Golden -update")
			assert.Equal(t, string(want), string(res.Manifests), "the output differs from %s (go test ./kube -run Golden -update rewrites it; review the diff)", golden)

			objs := kubetest.DecodeStrict(t, res.Manifests)
			kubetest.AssertOthersUnchanged(t, in, res.Manifests, "owdev")
			linger := tc.opt.MaxLinger
			if linger == 0 {
				linger = reclaim.DefaultMaxLinger
			}
			switch tc.factory {
			case kube.FactoryDocker:
				kubetest.AssertDocker(t, objs, kubetest.Docker{Release: "owdev", ShimImage: tc.opt.ShimImage, MaxLinger: linger, Before: kubetest.DecodeStrict(t, in)})
			case kube.FactoryKubernetes:
				kubetest.AssertKubernetes(t, objs, kubetest.Kubernetes{Release: "owdev", TimeLimit: tc.timeLimit, MaxLinger: linger})
				assert.Equal(t, tc.timeLimit+linger, res.GracePeriod)
				assert.Equal(t, res.GracePeriod, kubetest.GracePeriod(t, objs, "owdev"))
			}
			tasks := kubetest.Recoverer{Release: "owdev", TasksRedis: tc.opt.TasksRedis, Lease: tc.opt.TasksLease, Image: tc.opt.RecovererImage, AuthKey: tc.opt.RecovererAuthKey}
			kubetest.AssertRecoverer(t, objs, tasks)
			if tc.opt.TasksRedis != "" {
				assert.Equal(t, "Deployment owdev-epilogue-recoverer", res.Recoverer)
			} else {
				assert.Empty(t, res.Recoverer)
			}
		})
	}
}

// reencode writes every document of a stream again, indented by 4, as a
// tool between two post-renderers might.
func reencode(t *testing.T, stream []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, o := range kubetest.Split(t, stream) {
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal(o.Doc, &doc))
		out.WriteString("---\n")
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(4)
		require.NoError(t, enc.Encode(&doc))
		require.NoError(t, enc.Close())
	}
	return out.Bytes()
}

// Patching the output again changes nothing.
func TestPostRenderIdempotent(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			_, once := postRender(t, tc.input, tc.opt)
			twice, err := kube.PostRender(once.Manifests, tc.opt)
			require.NoError(t, err)
			assert.Equal(t, string(once.Manifests), string(twice.Manifests))

			// Helm 4 re-encodes a post-renderer's output; patching that
			// changes nothing either.
			again := reencode(t, once.Manifests)
			require.NotEqual(t, string(once.Manifests), string(again), "the re-encoding changed nothing: the test would not see a rewrite")
			thrice, err := kube.PostRender(again, tc.opt)
			require.NoError(t, err)
			assert.Equal(t, string(again), string(thrice.Manifests))
		})
	}
}
