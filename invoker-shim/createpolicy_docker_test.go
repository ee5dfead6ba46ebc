package invokershim_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
)

// TestCreatePolicyWithTheDockerCLI: on a node where the shim is the
// invoker's only way to the daemon, `docker run` through it cannot ask for
// more than an invoker does — the refusal names the field and the flag —
// while the invoker's own docker run (every other test) passes.
func TestCreatePolicyWithTheDockerCLI(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"privileged", []string{"--privileged"}, "HostConfig.Privileged is true"},
		{"the host's filesystem", []string{"-v", "/:/host"}, `a bind mount of the host's "/"`},
		{"the host's pid namespace", []string{"--pid", "host"}, `HostConfig.PidMode is "host"`},
		{"the host's network", []string{"--net", "host"}, `HostConfig.NetworkMode is "host"`},
		{"every capability", []string{"--cap-add", "ALL"}, "--allow-create cap-add=ALL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"create", "--name", uniqueName("wsk93_refused_")}, tc.args...)
			out, err := sh.docker(t, append(args, image)...)
			require.Error(t, err, "created: %s", out)
			assert.Contains(t, out, tc.want)
			assert.Contains(t, out, "which an OpenWhisk invoker never asks for")
		})
	}
	assert.Contains(t, sh.log.String(), "container create refused")

	// An operator who needs it widens the policy, field by field.
	wide := startShim(t, e, t.TempDir(), func(c *invokershim.Config) {
		require.NoError(t, c.CreatePolicy.ParseCreateRule("cap-add=SYS_PTRACE"))
	})
	id := wide.mustDocker(t, "create", "--name", uniqueName("wsk93_ptrace_"), "--cap-add", "SYS_PTRACE", image)
	t.Cleanup(func() { _, _ = wide.docker(t, "rm", "-f", id) })
	assert.Equal(t, `["CAP_SYS_PTRACE"]`, wide.mustDocker(t, "inspect", id, "--format", "{{json .HostConfig.CapAdd}}"))
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
