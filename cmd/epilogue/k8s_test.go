package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestK8sPostRender(t *testing.T) {
	docker, err := os.ReadFile(filepath.Join("..", "..", "kube", "testdata", "owdev-docker.yaml"))
	require.NoError(t, err)
	kubernetes, err := os.ReadFile(filepath.Join("..", "..", "kube", "testdata", "owdev-kubernetes.yaml"))
	require.NoError(t, err)
	tests := []struct {
		name        string
		args        []string
		stdin       string
		code        int
		stdout      []string // substrings
		stderr      []string
		emptyStdout bool
	}{
		{name: "docker factory", args: []string{"post-render", "--shim-image", "reg/epilogue/shim:1", "--max-linger=2m"}, stdin: string(docker),
			stdout: []string{"image: reg/epilogue/shim:1", "--max-linger=2m0s", "DOCKER_HOST", "restartPolicy: Always"},
			stderr: []string{"patched DaemonSet owdev-invoker (docker factory)"}},
		{name: "kubernetes factory", args: []string{"post-render"}, stdin: string(kubernetes),
			stdout: []string{"terminationGracePeriodSeconds: 600", "EPILOGUE_SEMANTICS=isolated"},
			stderr: []string{"patched StatefulSet owdev-invoker (kubernetes factory); action pods' grace period 10m0s"}},
		{name: "durable tasks", args: []string{"post-render", "--tasks-redis=redis.tasks:6379", "--tasks-lease=1m", "--recoverer-image=reg/epilogue/epilogue:1", "--recoverer-memory-limit=300Mi"}, stdin: string(kubernetes),
			stdout: []string{"EPILOGUE_TASKS_REDIS=redis.tasks:6379", "EPILOGUE_TASKS_LEASE=1m0s", "image: reg/epilogue/epilogue:1", "--apihost=http://owdev-controller:8080", "--lease=1m0s", "name: owdev-whisk.auth", "memory: 300Mi"},
			stderr: []string{"durable tasks on redis.tasks:6379, recovered by Deployment owdev-epilogue-recoverer"}},
		{name: "a bad recoverer quantity", args: []string{"post-render", "--tasks-redis=redis.tasks:6379", "--recoverer-cpu-request=lots"}, stdin: string(kubernetes), code: exitError,
			stderr: []string{`recoverer cpu request "lots" is not a Kubernetes quantity`}, emptyStdout: true},
		{name: "a bad task store", args: []string{"post-render", "--tasks-redis=nowhere"}, stdin: string(kubernetes), code: exitError,
			stderr: []string{"--tasks-redis", "neither host:port"}, emptyStdout: true},
		{name: "nothing to patch", args: []string{"post-render"}, stdin: "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n", code: exitError,
			stderr: []string{"no deploy-kube invoker to patch", "Service s"}, emptyStdout: true},
		{name: "no subcommand", args: nil, code: exitUsage, stderr: []string{"want the subcommand post-render"}, emptyStdout: true},
		{name: "help", args: []string{"-h"}, stdout: []string{"Helm 4: helm plugin install deploy/helm/plugin"}},
		{name: "positional argument", args: []string{"post-render", "file.yaml"}, code: exitUsage,
			stderr: []string{`unexpected argument "file.yaml": the manifests come on stdin`}, emptyStdout: true},
		{name: "bad duration", args: []string{"post-render", "--max-linger", "5"}, code: exitUsage, stderr: []string{"has no unit"}, emptyStdout: true},
		{name: "bad port", args: []string{"post-render", "--shim-notify-port", "0"}, code: exitUsage, stderr: []string{"not a TCP port"}, emptyStdout: true},
		{name: "bad metrics port", args: []string{"post-render", "--shim-metrics-port", "0"}, code: exitUsage, stderr: []string{"--shim-metrics-port 0 is not a TCP port"}, emptyStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runK8sIO(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			assert.Equal(t, tt.code, code, "stderr: %s", stderr.String())
			for _, s := range tt.stdout {
				assert.Contains(t, stdout.String(), s)
			}
			for _, s := range tt.stderr {
				assert.Contains(t, stderr.String(), s)
			}
			if tt.emptyStdout {
				assert.Empty(t, stdout.String(), "a failed post-render must write nothing Helm could apply")
			}
		})
	}
}
