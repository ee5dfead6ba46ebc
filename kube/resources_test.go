package kube_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/epilogue-dev/epilogue/kube"
	"github.com/epilogue-dev/epilogue/kube/kubetest"
)

// TestResources: the shim's and the recoverer's resources are the options',
// field by field, and the defaults where a field is empty.
func TestResources(t *testing.T) {
	in, err := os.ReadFile("testdata/owdev-docker.yaml")
	require.NoError(t, err)
	tests := []struct {
		name                string
		shim, recoverer     kube.Resources
		wantShim, wantRecov kube.Resources
	}{
		{"defaults", kube.Resources{}, kube.Resources{}, kube.DefaultShimResources, kube.DefaultRecovererResources},
		{"all given", kube.Resources{CPURequest: "200m", MemoryRequest: "64Mi", MemoryLimit: "1Gi"}, kube.Resources{CPURequest: "1", MemoryRequest: "128Mi", MemoryLimit: "512Mi"},
			kube.Resources{CPURequest: "200m", MemoryRequest: "64Mi", MemoryLimit: "1Gi"}, kube.Resources{CPURequest: "1", MemoryRequest: "128Mi", MemoryLimit: "512Mi"}},
		{"one field each", kube.Resources{MemoryLimit: "300Mi"}, kube.Resources{CPURequest: "20m"},
			kube.Resources{CPURequest: "50m", MemoryRequest: "32Mi", MemoryLimit: "300Mi"}, kube.Resources{CPURequest: "20m", MemoryRequest: "16Mi", MemoryLimit: "128Mi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := kube.PostRender(in, kube.Options{Shim: tt.shim, TasksRedis: "redis.tasks:6379", Recoverer: tt.recoverer})
			require.NoError(t, err)
			objs := kubetest.DecodeStrict(t, res.Manifests)

			ds, ok := objs["DaemonSet owdev-invoker"].(*appsv1.DaemonSet)
			require.True(t, ok)
			shim := kubetest.Container(ds.Spec.Template.Spec.InitContainers, kube.ShimContainer)
			require.NotNil(t, shim, "no shim sidecar")
			assertResources(t, tt.wantShim, shim.Resources)

			d, ok := objs[kubetest.RecovererDeployment("owdev")].(*appsv1.Deployment)
			require.True(t, ok)
			rec := kubetest.Container(d.Spec.Template.Spec.Containers, kube.RecovererContainer)
			require.NotNil(t, rec, "no recoverer container")
			assertResources(t, tt.wantRecov, rec.Resources)
		})
	}
}

func assertResources(t *testing.T, want kube.Resources, got corev1.ResourceRequirements) {
	t.Helper()
	assert.Equal(t, want.CPURequest, got.Requests.Cpu().String(), "cpu request")
	assert.Equal(t, want.MemoryRequest, got.Requests.Memory().String(), "memory request")
	assert.Equal(t, want.MemoryLimit, got.Limits.Memory().String(), "memory limit")
}
