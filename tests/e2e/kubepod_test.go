package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/epilogue-dev/epilogue/kube/kubetest"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// This file runs a pod rendered by `epilogue k8s post-render` on the Docker
// engine the way the kubelet runs it with the Docker runtime, translated
// from the pod spec rather than copied from it: a sandbox container holds
// the pod's network namespace and IP, each container joins it, hostPath
// becomes a bind mount of this machine's path, emptyDir a Docker volume
// shared by the pod's containers, secret and configMap volumes files
// projected from the rendered objects, env is resolved as the kubelet does
// (downward API, ConfigMap and Secret keys, $(VAR) references) and the
// securityContext becomes Docker's equivalents.

// Bounds, beside image_test.go's.
const (
	// startupBound: the rendered startup probe gives the shim a minute; a
	// busy machine may need more before its first answer.
	startupBound = 3 * time.Minute
	// commandBound: one docker CLI command of the invoker, in its own
	// stand-in container (created, run and removed).
	commandBound = 2 * time.Minute
)

// renderedTestdata reads one of kube/testdata's real `helm template`
// outputs of deploy-kube.
func renderedTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "kube", "testdata", name))
	require.NoError(t, err)
	return b
}

// manifests are the objects of a rendered stream, as YAML, by "Kind/name".
type manifests map[string][]byte

func decodeManifests(t *testing.T, stream []byte) manifests {
	t.Helper()
	m := manifests{}
	for _, o := range kubetest.Split(t, stream) {
		if kind, name, ok := strings.Cut(o.ID, " "); ok {
			m[kind+"/"+name] = o.Doc
		}
	}
	return m
}

// get decodes object kind/name into obj; false if the stream has none.
func (m manifests) get(t *testing.T, kind, name string, obj any) bool {
	t.Helper()
	doc, ok := m[kind+"/"+name]
	if ok {
		require.NoErrorf(t, yaml.UnmarshalStrict(doc, obj), "%s %s", kind, name)
	}
	return ok
}

// secretData is the data of the rendered Secret name (stringData
// included, as the API server merges it); false if the stream has none.
func (m manifests) secretData(t *testing.T, name string) (map[string][]byte, bool) {
	t.Helper()
	var s corev1.Secret
	if !m.get(t, "Secret", name, &s) {
		return nil, false
	}
	data := map[string][]byte{}
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return data, true
}

// podTemplate is the pod template of a patched invoker, named as
// kube.Result.Invokers names it ("DaemonSet owdev-invoker").
func (m manifests) podTemplate(t *testing.T, workload string) corev1.PodTemplateSpec {
	t.Helper()
	kind, name, _ := strings.Cut(workload, " ")
	var w struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	doc, ok := m[kind+"/"+name]
	require.Truef(t, ok, "no %s in the rendered stream", workload)
	require.NoError(t, yaml.Unmarshal(doc, &w), workload)
	return w.Spec.Template
}

// configMapKey is key of the rendered ConfigMap name.
func (m manifests) configMapKey(t *testing.T, name, key string) (string, bool) {
	t.Helper()
	var cm corev1.ConfigMap
	if !m.get(t, "ConfigMap", name, &cm) {
		return "", false
	}
	v, ok := cm.Data[key]
	return v, ok
}

// namedContainer returns the container called name among cs.
func namedContainer(t *testing.T, cs []corev1.Container, name string) corev1.Container {
	t.Helper()
	i := slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == name })
	require.GreaterOrEqualf(t, i, 0, "no container %q in the rendered pod", name)
	return cs[i]
}

// envValue is name's literal value in c's env.
func envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	return "", false
}

// actionEnv is what the invoker adds to every action container's
// environment: whisk.container-factory.container-args.extra-env-vars
// (CONFIG_..._extraEnvVars_N, each KEY=VALUE), in index order.
func actionEnv(t *testing.T, m manifests, inv corev1.Container) []string {
	t.Helper()
	const prefix = "CONFIG_whisk_containerFactory_containerArgs_extraEnvVars_"
	idx := map[int]string{}
	var keys []int
	for _, e := range inv.Env {
		n, ok := strings.CutPrefix(e.Name, prefix)
		i, err := strconv.Atoi(n)
		if !ok || err != nil {
			continue
		}
		v := e.Value
		if f := e.ValueFrom; f != nil {
			// The kubelet resolves a Secret's key before the invoker reads
			// its env; anything else is not what the invoker would see.
			require.NotNilf(t, f.SecretKeyRef, "invoker env %s: only a Secret's key is resolved here", e.Name)
			data, found := m.secretData(t, f.SecretKeyRef.Name)
			b, has := data[f.SecretKeyRef.Key]
			require.Truef(t, found && has, "invoker env %s refers to Secret %s key %s, which the rendered stream does not hold", e.Name, f.SecretKeyRef.Name, f.SecretKeyRef.Key)
			v = string(b)
		}
		idx[i] = v
		keys = append(keys, i)
	}
	sort.Ints(keys)
	var env []string
	for _, i := range keys {
		env = append(env, idx[i])
	}
	return env
}

// expandRefs expands $(NAME) in s as the kubelet does in env values and
// args: a name defined in vars is replaced, $$ is a literal $, anything
// else stays as written.
func expandRefs(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i+2:], ')'); end >= 0 {
				if v, ok := vars[s[i+2:i+2+end]]; ok {
					b.WriteString(v)
					i += 2 + end
					continue
				}
			}
		}
		b.WriteByte('$')
	}
	return b.String()
}

// kubePod runs the containers of one rendered pod on the Docker engine.
type kubePod struct {
	t    *testing.T
	cli  *client.Client
	m    manifests
	spec corev1.PodSpec
	// name is unique per run; every Docker object of the pod is named
	// after it and labelled labelKey.
	name string
	// secrets are the Secrets the operator creates beside the chart (the
	// shim's notify key), by name and key.
	secrets map[string]map[string][]byte
	sandbox string // the container holding the network namespace
	ip      string // the pod's IP: the sandbox's on the bridge
	volumes map[string]string
	seq     int
}

// startPod starts the sandbox of a pod from image, a test image holding
// /pause (tests/e2e/podsandbox), on the bridge network: there the action
// containers the invoker starts reach the pod's IP, as on a node.
func startPod(ctx context.Context, t *testing.T, cli *client.Client, m manifests, spec corev1.PodSpec, image string, secrets map[string]map[string][]byte) *kubePod {
	t.Helper()
	p := &kubePod{t: t, cli: cli, m: m, spec: spec, secrets: secrets, volumes: map[string]string{},
		name: "epilogue-e2e-pod-" + newActivationID(t)[:12]}
	cfg := &container.Config{Image: image, Cmd: []string{"/pause"}, Labels: p.labels()}
	p.sandbox = p.create(ctx, cfg, &container.HostConfig{NetworkMode: "bridge"}, "sandbox", false)
	require.NoError(t, cli.ContainerStart(ctx, p.sandbox, container.StartOptions{}))
	info, err := cli.ContainerInspect(ctx, p.sandbox)
	require.NoError(t, err)
	ep := info.NetworkSettings.Networks["bridge"]
	require.NotNil(t, ep, "the pod sandbox has no bridge endpoint")
	require.NotEmpty(t, ep.IPAddress, "the pod sandbox has no IP address")
	p.ip = ep.IPAddress
	return p
}

func (p *kubePod) labels() map[string]string {
	return map[string]string{labelKey: "1", labelKey + ".test": p.t.Name(), labelKey + ".pod": p.name}
}

// create creates container what of the pod, removed when the test ends
// (its log shown if the test failed and logOnFailure is set).
func (p *kubePod) create(ctx context.Context, cfg *container.Config, hc *container.HostConfig, what string, logOnFailure bool) string {
	p.t.Helper()
	p.seq++
	name := fmt.Sprintf("%s-%d-%s", p.name, p.seq, what)
	created, err := p.cli.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	require.NoErrorf(p.t, err, "create %s", name)
	removeWhenDone(p.t, p.cli, name, logOnFailure)
	return created.ID
}

// field resolves a downward-API field reference.
func (p *kubePod) field(ref *corev1.ObjectFieldSelector) string {
	p.t.Helper()
	switch ref.FieldPath {
	case "status.podIP":
		return p.ip
	case "metadata.name":
		return p.name
	case "spec.nodeName":
		host, err := os.Hostname()
		require.NoError(p.t, err)
		return host
	}
	p.t.Fatalf("env from the downward API field %q: not translated to Docker", ref.FieldPath)
	return ""
}

// env resolves c's environment as the kubelet does.
func (p *kubePod) env(c corev1.Container) []string {
	p.t.Helper()
	require.Emptyf(p.t, c.EnvFrom, "container %s: envFrom is not translated to Docker", c.Name)
	vars := map[string]string{}
	var env []string
	for _, e := range c.Env {
		v := expandRefs(e.Value, vars)
		if f := e.ValueFrom; f != nil {
			var ok bool
			switch {
			case f.FieldRef != nil:
				v, ok = p.field(f.FieldRef), true
			case f.ConfigMapKeyRef != nil:
				v, ok = p.m.configMapKey(p.t, f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key)
				ok = ok || f.ConfigMapKeyRef.Optional != nil && *f.ConfigMapKeyRef.Optional
			case f.SecretKeyRef != nil:
				var b []byte
				b, ok = p.secretData(f.SecretKeyRef.Name)[f.SecretKeyRef.Key]
				v = string(b)
				ok = ok || f.SecretKeyRef.Optional != nil && *f.SecretKeyRef.Optional
			default:
				p.t.Fatalf("container %s: env %s: this valueFrom is not translated to Docker", c.Name, e.Name)
			}
			require.Truef(p.t, ok, "container %s: env %s refers to a key the rendered stream does not hold", c.Name, e.Name)
		}
		vars[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env
}

// secretData is Secret name's data: the rendered one, or the operator's.
func (p *kubePod) secretData(name string) map[string][]byte {
	p.t.Helper()
	if data, ok := p.m.secretData(p.t, name); ok {
		return data
	}
	data, ok := p.secrets[name]
	require.Truef(p.t, ok, "Secret %s is neither rendered nor given by the test", name)
	return data
}

func (p *kubePod) volume(name string) corev1.Volume {
	p.t.Helper()
	i := slices.IndexFunc(p.spec.Volumes, func(v corev1.Volume) bool { return v.Name == name })
	require.GreaterOrEqualf(p.t, i, 0, "a volume mount names volume %q, which the pod does not have", name)
	return p.spec.Volumes[i]
}

// project writes a secret or configMap volume's files into a new
// directory, as the kubelet does: the chosen items (every key without
// items) with their modes.
func (p *kubePod) project(v corev1.Volume) string {
	p.t.Helper()
	var (
		data  = map[string][]byte{}
		items []corev1.KeyToPath
		mode  = int32(0o644)
	)
	switch {
	case v.Secret != nil:
		data, items = p.secretData(v.Secret.SecretName), v.Secret.Items
		if v.Secret.DefaultMode != nil {
			mode = *v.Secret.DefaultMode
		}
	case v.ConfigMap != nil:
		var cm corev1.ConfigMap
		require.Truef(p.t, p.m.get(p.t, "ConfigMap", v.ConfigMap.Name, &cm), "volume %s: no ConfigMap %s in the rendered stream", v.Name, v.ConfigMap.Name)
		for k, s := range cm.Data {
			data[k] = []byte(s)
		}
		items = v.ConfigMap.Items
		if v.ConfigMap.DefaultMode != nil {
			mode = *v.ConfigMap.DefaultMode
		}
	}
	if len(items) == 0 {
		for k := range data {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
	}
	dir := p.t.TempDir()
	for _, it := range items {
		b, ok := data[it.Key]
		require.Truef(p.t, ok, "volume %s: no key %q", v.Name, it.Key)
		m := mode
		if it.Mode != nil {
			m = *it.Mode
		}
		f := filepath.Join(dir, filepath.FromSlash(it.Path))
		require.NoError(p.t, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(p.t, os.WriteFile(f, b, os.FileMode(m)))
		require.NoError(p.t, os.Chmod(f, os.FileMode(m)))
	}
	return dir
}

// mounts translates c's volume mounts whose volume keep accepts.
func (p *kubePod) mounts(ctx context.Context, c corev1.Container, keep func(corev1.Volume) bool) []mount.Mount {
	p.t.Helper()
	var ms []mount.Mount
	for _, vm := range c.VolumeMounts {
		v := p.volume(vm.Name)
		if !keep(v) {
			continue
		}
		m := mount.Mount{Target: vm.MountPath, ReadOnly: vm.ReadOnly}
		switch {
		case v.HostPath != nil:
			// The node is this machine (the Docker engine's).
			if t := v.HostPath.Type; t != nil && *t == corev1.HostPathDirectoryOrCreate {
				require.NoError(p.t, os.MkdirAll(v.HostPath.Path, 0o755))
			}
			m.Type, m.Source = mount.TypeBind, path.Join(v.HostPath.Path, vm.SubPath)
		case v.EmptyDir != nil:
			require.Emptyf(p.t, vm.SubPath, "container %s: a subPath of emptyDir %s is not translated", c.Name, v.Name)
			m.Type, m.Source = mount.TypeVolume, p.emptyDir(ctx, v.Name)
		case v.Secret != nil, v.ConfigMap != nil:
			// The kubelet mounts them read-only whatever the mount says.
			m.Type, m.Source, m.ReadOnly = mount.TypeBind, filepath.Join(p.project(v), filepath.FromSlash(vm.SubPath)), true
		default:
			p.t.Fatalf("container %s: volume %s: only hostPath, emptyDir, secret and configMap are translated to Docker", c.Name, v.Name)
		}
		ms = append(ms, m)
	}
	return ms
}

// emptyDir is the Docker volume standing for the pod's emptyDir name,
// created once and shared by every container that mounts it.
func (p *kubePod) emptyDir(ctx context.Context, name string) string {
	p.t.Helper()
	if v, ok := p.volumes[name]; ok {
		return v
	}
	vol, err := p.cli.VolumeCreate(ctx, volume.CreateOptions{Name: p.name + "-" + name, Labels: p.labels()})
	require.NoError(p.t, err)
	p.volumes[name] = vol.Name
	// Registered before any container mounting it: removed after them.
	p.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dockerBound)
		defer cancel()
		if err := p.cli.VolumeRemove(ctx, vol.Name, true); err != nil {
			p.t.Errorf("remove volume %s: %v", vol.Name, err)
		}
	})
	return vol.Name
}

// hostConfig is c's securityContext and resources where Docker expresses
// them, in the pod's network namespace.
func (p *kubePod) hostConfig(c corev1.Container, mounts []mount.Mount) (*container.HostConfig, string) {
	p.t.Helper()
	hc := &container.HostConfig{NetworkMode: container.NetworkMode("container:" + p.sandbox), Mounts: mounts}
	var user string
	if sc := c.SecurityContext; sc != nil {
		require.Truef(p.t, sc.SELinuxOptions == nil && sc.SeccompProfile == nil && sc.AppArmorProfile == nil && sc.ProcMount == nil,
			"container %s: its securityContext has fields this test does not translate to Docker", c.Name)
		if sc.RunAsUser != nil {
			user = strconv.FormatInt(*sc.RunAsUser, 10)
			if sc.RunAsGroup != nil {
				user += ":" + strconv.FormatInt(*sc.RunAsGroup, 10)
			}
		}
		hc.ReadonlyRootfs = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		hc.Privileged = sc.Privileged != nil && *sc.Privileged
		if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges")
		}
		if caps := sc.Capabilities; caps != nil {
			for _, c := range caps.Drop {
				hc.CapDrop = append(hc.CapDrop, string(c))
			}
			for _, c := range caps.Add {
				hc.CapAdd = append(hc.CapAdd, string(c))
			}
		}
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		hc.Memory = q.Value()
	}
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		hc.CPUShares = max(2, q.MilliValue()*1024/1000) // the kubelet's conversion
	}
	return hc, user
}

// start starts container c of the rendered pod with its own image, command
// and args ($(VAR) expanded), and waits until its startup probe passes.
func (p *kubePod) start(ctx context.Context, c corev1.Container) *actionContainer {
	p.t.Helper()
	env := p.env(c)
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var args []string
	for _, a := range c.Args {
		args = append(args, expandRefs(a, vars))
	}
	hc, user := p.hostConfig(c, p.mounts(ctx, c, func(corev1.Volume) bool { return true }))
	cfg := &container.Config{Image: c.Image, Entrypoint: c.Command, Cmd: args, Env: env, User: user, Labels: p.labels()}
	id := p.create(ctx, cfg, hc, c.Name, true)
	require.NoError(p.t, p.cli.ContainerStart(ctx, id, container.StartOptions{}))
	ac := &actionContainer{cli: p.cli, id: id, ip: p.ip}
	p.waitStarted(ctx, ac, c)
	return ac
}

// waitStarted probes c as its startup probe says (a TCP connect to a
// port of the pod's IP, every periodSeconds) until it passes, the
// container exits, or startupBound.
func (p *kubePod) waitStarted(ctx context.Context, ac *actionContainer, c corev1.Container) {
	p.t.Helper()
	probe := c.StartupProbe
	require.NotNilf(p.t, probe, "container %s has no startup probe", c.Name)
	require.NotNilf(p.t, probe.TCPSocket, "container %s: only tcpSocket probes are translated", c.Name)
	port := probe.TCPSocket.Port.String()
	for _, cp := range c.Ports {
		if cp.Name == port {
			port = strconv.Itoa(int(cp.ContainerPort))
		}
	}
	addr := net.JoinHostPort(p.ip, port)
	period := time.Duration(max(probe.PeriodSeconds, 1)) * time.Second
	timeout := time.Duration(max(probe.TimeoutSeconds, 1)) * time.Second
	until := time.Now().Add(startupBound)
	for {
		conn, err := net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			_ = conn.Close()
			return
		}
		state := ac.inspect(ctx, p.t).State
		require.Truef(p.t, state.Running, "container %s exited before its startup probe passed: %+v", c.Name, state)
		require.Truef(p.t, time.Now().Before(until), "container %s: its startup probe (tcp %s) did not pass within %s: %v", c.Name, addr, startupBound, err)
		time.Sleep(period)
	}
}

// dockerRun is one docker CLI command's outcome.
type dockerRun struct {
	exit           int64
	stdout, stderr string
}

func (r dockerRun) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
}

// standIn runs the invoker's docker CLI commands: each in a fresh container
// of image (the host's docker CLI at /usr/bin/docker, where the invoker
// image has it) in the pod, with the rendered invoker's env and its
// pod-local mounts, as the invoker's JVM runs each command as a process.
type standIn struct {
	p      *kubePod
	image  string
	env    []string
	mounts []mount.Mount
}

// docker runs `docker args...` in the stand-in and returns when it exits.
func (s *standIn) docker(ctx context.Context, args ...string) dockerRun {
	p := s.p
	p.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, commandBound)
	defer cancel()
	hc := &container.HostConfig{NetworkMode: container.NetworkMode("container:" + p.sandbox), Mounts: s.mounts}
	cfg := &container.Config{Image: s.image, Cmd: append([]string{"/usr/bin/docker"}, args...), Env: s.env, Labels: p.labels()}
	id := p.create(ctx, cfg, hc, "invoker-"+args[0], false) // its output is in dockerRun
	exited, failed := p.cli.ContainerWait(ctx, id, container.WaitConditionNextExit)
	require.NoError(p.t, p.cli.ContainerStart(ctx, id, container.StartOptions{}))
	var r dockerRun
	select {
	case w := <-exited:
		r.exit = w.StatusCode
	case err := <-failed:
		p.t.Fatalf("docker %s (in the invoker's stand-in) did not end within %s: %v", strings.Join(args, " "), commandBound, err)
	}
	var err error
	r.stdout, r.stderr, err = (&actionContainer{cli: p.cli, id: id}).logs(ctx)
	require.NoError(p.t, err)
	require.NoError(p.t, p.cli.ContainerRemove(ctx, id, container.RemoveOptions{}))
	return r
}

// buildPodImage builds the test's image FROM scratch: the host's docker
// CLI, which must be static, at /usr/bin/docker (where the invoker looks
// first), and the pod sandbox at /pause. It is removed when the test ends.
func buildPodImage(ctx context.Context, t *testing.T, cli *client.Client) string {
	t.Helper()
	dockerCLI, err := exec.LookPath("docker")
	require.NoError(t, err, "the docker CLI is needed: the invoker's stand-in runs it")
	dockerCLI, err = filepath.EvalSymlinks(dockerCLI)
	require.NoError(t, err)
	bin, err := elf.Open(dockerCLI)
	require.NoErrorf(t, err, "the docker CLI %s is not an ELF executable", dockerCLI)
	for _, prog := range bin.Progs {
		require.NotEqualf(t, elf.PT_INTERP, prog.Type, "the docker CLI %s is dynamically linked: the invoker's stand-in image is FROM scratch and needs a static one (e.g. from download.docker.com/linux/static)", dockerCLI)
	}
	_ = bin.Close()

	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	add := func(name, file string, body []byte) {
		if file != "" {
			body, err = os.ReadFile(file)
			require.NoError(t, err)
		}
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body))}))
		_, err = tw.Write(body)
		require.NoError(t, err)
	}
	add("Dockerfile", "", []byte("FROM scratch\nCOPY docker /usr/bin/docker\nCOPY podsandbox /pause\n"))
	add("docker", dockerCLI, nil)
	add("podsandbox", testenv.BuildStatic(t, "./tests/e2e/podsandbox"), nil)
	require.NoError(t, tw.Close())

	tag := "epilogue-e2e/pod:" + newActivationID(t)[:12]
	resp, err := cli.ImageBuild(ctx, &ctxTar, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true, Labels: map[string]string{labelKey: "1"}})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dockerBound)
		defer cancel()
		if _, err := cli.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("remove image %s: %v", tag, err)
		}
	})
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err, "the image build's progress")
		}
		require.Emptyf(t, msg.Error, "build the test's image %s", tag)
	}
	return tag
}
