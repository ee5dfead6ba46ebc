package invokershim

import (
	"encoding/json"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// invokerHostConfig is the HostConfig of OpenWhisk's `docker run`, as the
// docker CLI sends it.
func invokerHostConfig() container.HostConfig {
	pids := int64(1024)
	return container.HostConfig{
		NetworkMode: "bridge",
		LogConfig:   container.LogConfig{Type: "json-file"},
		CapDrop:     []string{"CAP_NET_ADMIN", "CAP_NET_RAW"},
		Resources: container.Resources{
			CPUShares: 256, Memory: 256 << 20, MemorySwap: 256 << 20, PidsLimit: &pids,
			Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 1024}},
		},
	}
}

func createBody(t *testing.T, edit func(*container.HostConfig)) []byte {
	t.Helper()
	hc := invokerHostConfig()
	edit(&hc)
	b, err := json.Marshal(container.CreateRequest{Config: &container.Config{Image: "epilogue/action-go"}, HostConfig: &hc})
	require.NoError(t, err)
	return b
}

func TestCreatePolicy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*container.HostConfig)
		allow []string
		want  string // a part of the refusal; "" = forwarded
	}{
		{name: "the invoker's own create", edit: func(*container.HostConfig) {}},
		{name: "privileged", edit: func(hc *container.HostConfig) { hc.Privileged = true }, want: "HostConfig.Privileged is true, which an OpenWhisk invoker never asks for; to allow it, start the shim with --allow-create privileged"},
		{name: "privileged allowed", edit: func(hc *container.HostConfig) { hc.Privileged = true }, allow: []string{"privileged"}},
		{name: "host network", edit: func(hc *container.HostConfig) { hc.NetworkMode = "host" }, want: `HostConfig.NetworkMode is "host"`},
		{name: "another container's network", edit: func(hc *container.HostConfig) { hc.NetworkMode = "container:abc" }, want: "--allow-create host-namespaces"},
		{name: "a user-defined network", edit: func(hc *container.HostConfig) { hc.NetworkMode = "openwhisk" }},
		{name: "host pid", edit: func(hc *container.HostConfig) { hc.PidMode = "host" }, want: `HostConfig.PidMode is "host"`},
		{name: "host ipc", edit: func(hc *container.HostConfig) { hc.IpcMode = "host" }, want: "HostConfig.IpcMode"},
		{name: "host uts", edit: func(hc *container.HostConfig) { hc.UTSMode = "host" }, want: "HostConfig.UTSMode"},
		{name: "host userns", edit: func(hc *container.HostConfig) { hc.UsernsMode = "host" }, want: "HostConfig.UsernsMode"},
		{name: "host cgroupns", edit: func(hc *container.HostConfig) { hc.CgroupnsMode = "host" }, want: "HostConfig.CgroupnsMode"},
		{name: "host namespaces allowed", edit: func(hc *container.HostConfig) { hc.PidMode = "host"; hc.NetworkMode = "host" }, allow: []string{"host-namespaces"}},
		{name: "added capability", edit: func(hc *container.HostConfig) { hc.CapAdd = []string{"CAP_SYS_ADMIN"} }, want: `HostConfig.CapAdd is "CAP_SYS_ADMIN"` + ", which an OpenWhisk invoker never asks for; to allow it, start the shim with --allow-create cap-add=SYS_ADMIN"},
		{name: "added capability allowed, either spelling", edit: func(hc *container.HostConfig) { hc.CapAdd = []string{"sys_ptrace", "CAP_SYS_PTRACE"} }, allow: []string{"cap-add=CAP_SYS_PTRACE"}},
		{name: "another capability than the allowed one", edit: func(hc *container.HostConfig) { hc.CapAdd = []string{"NET_ADMIN"} }, allow: []string{"cap-add=SYS_PTRACE"}, want: "cap-add=NET_ADMIN"},
		{name: "every capability allowed", edit: func(hc *container.HostConfig) { hc.CapAdd = []string{"ALL"} }, allow: []string{"cap-add=ALL"}},
		{name: "device", edit: func(hc *container.HostConfig) {
			hc.Devices = []container.DeviceMapping{{PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "rwm"}}
		}, want: `HostConfig.Devices is "/dev/sda"`},
		{name: "device allowed", edit: func(hc *container.HostConfig) {
			hc.Devices = []container.DeviceMapping{{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse"}}
		}, allow: []string{"device=/dev/fuse"}},
		{name: "gpu request", edit: func(hc *container.HostConfig) {
			hc.DeviceRequests = []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}}
		}, want: "HostConfig.DeviceRequests"},
		{name: "device cgroup rule", edit: func(hc *container.HostConfig) { hc.DeviceCgroupRules = []string{"c 1:3 rwm"} }, want: "HostConfig.DeviceCgroupRules"},
		{name: "the host's root bound in", edit: func(hc *container.HostConfig) { hc.Binds = []string{"/:/host"} }, want: `HostConfig.Binds is a bind mount of the host's "/"` + ", which an OpenWhisk invoker never asks for; to allow it, start the shim with --allow-create bind=/"},
		{name: "the docker socket bound in", edit: func(hc *container.HostConfig) { hc.Binds = []string{"/var/run/docker.sock:/var/run/docker.sock"} }, want: "bind=/var/run/docker.sock"},
		{name: "bind under an allowed directory", edit: func(hc *container.HostConfig) { hc.Binds = []string{"/var/lib/ow/data:/data:ro"} }, allow: []string{"bind=/var/lib/ow/"}},
		{name: "the allowed directory itself", edit: func(hc *container.HostConfig) { hc.Binds = []string{"/var/lib/ow:/data"} }, allow: []string{"bind=/var/lib/ow"}},
		{name: "a sibling with the allowed directory's name as prefix", edit: func(hc *container.HostConfig) { hc.Binds = []string{"/var/lib/owner:/data"} }, allow: []string{"bind=/var/lib/ow"}, want: "bind=/var/lib/owner"},
		{name: "a path that climbs out of the allowed directory", edit: func(hc *container.HostConfig) { hc.Binds = []string{"/var/lib/ow/../../..:/host"} }, allow: []string{"bind=/var/lib/ow"}, want: "bind=/"},
		{name: "a named volume", edit: func(hc *container.HostConfig) { hc.Binds = []string{"data:/data"} }, want: `the named volume "data"`},
		{name: "a named volume allowed", edit: func(hc *container.HostConfig) { hc.Binds = []string{"data:/data"} }, allow: []string{"volumes"}},
		{name: "a bind mount", edit: func(hc *container.HostConfig) {
			hc.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: "/etc", Target: "/etc2"}}
		}, want: `HostConfig.Mounts is a bind mount of the host's "/etc"`},
		{name: "a volume mount", edit: func(hc *container.HostConfig) {
			hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: "v", Target: "/v"}}
		}, want: "--allow-create volumes"},
		{name: "a tmpfs", edit: func(hc *container.HostConfig) {
			hc.Mounts = []mount.Mount{{Type: mount.TypeTmpfs, Target: "/scratch"}}
		}},
		{name: "an npipe", edit: func(hc *container.HostConfig) {
			hc.Mounts = []mount.Mount{{Type: mount.TypeNamedPipe, Source: `\\.\pipe\x`, Target: "/p"}}
		}, want: "--allow-create any"},
		{name: "volumes from another container", edit: func(hc *container.HostConfig) { hc.VolumesFrom = []string{"other"} }, want: "HostConfig.VolumesFrom"},
		{name: "an unconfined seccomp", edit: func(hc *container.HostConfig) { hc.SecurityOpt = []string{"seccomp=unconfined"} }, want: `HostConfig.SecurityOpt is "seccomp=unconfined"`},
		{name: "no-new-privileges allowed", edit: func(hc *container.HostConfig) { hc.SecurityOpt = []string{"no-new-privileges"} }, allow: []string{"security-opt=no-new-privileges"}},
		{name: "anything with any", edit: func(hc *container.HostConfig) {
			hc.Privileged, hc.PidMode, hc.Binds, hc.CapAdd = true, "host", []string{"/:/host"}, []string{"ALL"}
		}, allow: []string{"any"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p CreatePolicy
			for _, r := range tc.allow {
				require.NoError(t, p.ParseCreateRule(r))
			}
			got := p.checkCreate(createBody(t, tc.edit))
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tc.want)
			assert.Contains(t, got, "epilogue-shim: containers/create refused: ")
		})
	}
}

func TestCreatePolicyLeavesOddBodiesToTheDaemon(t *testing.T) {
	var p CreatePolicy
	for _, body := range []string{``, `not json`, `{}`, `{"HostConfig":null}`, `[1]`} {
		assert.Empty(t, p.checkCreate([]byte(body)), body)
	}
}

func TestParseCreateRule(t *testing.T) {
	for _, tc := range []struct{ rule, err string }{
		{"privileged", ""}, {"host-namespaces", ""}, {"volumes", ""}, {"any", ""},
		{"cap-add=NET_ADMIN", ""}, {"device=/dev/fuse", ""}, {"bind=/srv", ""}, {"security-opt=no-new-privileges", ""},
		{"cap-add", `"cap-add" needs a value: write cap-add=VALUE`},
		{"bind=", "needs a value"},
		{"bind=srv", "an absolute host directory"},
		{"device=fuse", "a host path such as /dev/fuse"},
		{"root", `unknown rule "root": use privileged, host-namespaces, cap-add=NAME`},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			var p CreatePolicy
			err := p.ParseCreateRule(tc.rule)
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.err)
		})
	}
}

// FuzzCreatePolicy: create bodies come from whoever reaches the socket;
// the check never panics, and a refusal always names the flag that lifts it.
func FuzzCreatePolicy(f *testing.F) {
	f.Add([]byte(`{"HostConfig":{"Privileged":true}}`))
	f.Add([]byte(`{"HostConfig":{"Binds":["/:/host"],"Mounts":[{"Type":"bind","Source":"/x"}]}}`))
	f.Add([]byte(`{"HostConfig":{"CapAdd":["ALL"],"Devices":[{"PathOnHost":"/dev/sda"}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var p CreatePolicy
		if why := p.checkCreate(body); why != "" {
			assert.Contains(t, why, "--allow-create ")
		}
	})
}
