package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/postrenderer"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"

	"github.com/epilogue-dev/epilogue/kube"
)

// The release deploy-kube's docs install, and the one kube/testdata was
// rendered as.
const (
	release   = "owdev"
	namespace = "openwhisk"
)

var (
	chartDir      = filepath.Join("testdata", "openwhisk")
	overlay       = filepath.Join("..", "..", "deploy", "helm", "openwhisk-values.yaml")
	pluginDir     = filepath.Join("..", "..", "deploy", "helm", "plugin")
	helm3Renderer = filepath.Join("..", "..", "deploy", "helm", "post-render")
)

// valuesOf merges values files and --set flags as `helm template -f ...
// --set ...` does.
func valuesOf(t testing.TB, files []string, set []string) map[string]any {
	t.Helper()
	opts := values.Options{ValueFiles: files, Values: set}
	vals, err := opts.MergeValues(getter.All(cli.New()))
	require.NoError(t, err)
	return vals
}

// render is `helm template owdev CHART -n openwhisk` with vals, through pr
// when it is not nil: Helm's install action, dry-run and client-only.
func render(t testing.TB, vals map[string]any, pr postrenderer.PostRenderer) (string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	require.NoError(t, err)
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = release
	install.Namespace = namespace
	install.Replace = true
	install.PostRenderer = pr
	rel, err := install.Run(ch, vals)
	if err != nil {
		return "", err
	}
	r, ok := rel.(*releasev1.Release)
	require.True(t, ok, "Helm returned a %T", rel)
	require.Empty(t, r.Hooks, "the stand-in has no hooks; `helm template` would print them after the manifest")
	return r.Manifest, nil
}

// lint is `helm lint CHART` with vals; it returns the errors.
func lint(vals map[string]any) []error {
	l := action.NewLint()
	l.Namespace = namespace
	return l.Run([]string{chartDir}, vals).Errors
}

// inProcess post-renders with kube.PostRender.
type inProcess struct{ opt kube.Options }

func (p inProcess) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	res, err := kube.PostRender(in.Bytes(), p.opt)
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(res.Manifests), nil
}

// helm3Exec runs an executable post-renderer as Helm 3's --post-renderer
// PATH does: the manifests on stdin, the result on stdout, a failure's
// stderr in the error.
type helm3Exec struct {
	path string
	args []string
}

func (e helm3Exec) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	cmd := exec.Command(e.path, e.args...)
	cmd.Stdin = bytes.NewReader(in.Bytes())
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("error while running command %s. error output:\n%s: %w", e.path, stderr.String(), err)
	}
	return &out, nil
}

// installPlugin installs deploy/helm/plugin into a fresh plugins directory
// as `helm plugin install DIR` does for a local directory (a link to it),
// and returns Helm settings that load plugins from there.
func installPlugin(t *testing.T) *cli.EnvSettings {
	t.Helper()
	dir := t.TempDir()
	src, err := filepath.Abs(pluginDir)
	require.NoError(t, err)
	// Named after the directory, as Helm names it: the plugin is then found
	// by the name its plugin.yaml gives.
	require.NoError(t, os.Symlink(src, filepath.Join(dir, filepath.Base(src))))
	settings := cli.New()
	settings.PluginsDirectory = dir
	return settings
}

// pluginRenderer is Helm 4's `--post-renderer epilogue-k8s
// --post-renderer-args ARG...`.
func pluginRenderer(t *testing.T, settings *cli.EnvSettings, args ...string) postrenderer.PostRenderer {
	t.Helper()
	pr, err := postrenderer.NewPostRendererPlugin(settings, "epilogue-k8s", args...)
	require.NoError(t, err, "Helm does not load deploy/helm/plugin")
	return pr
}

// flags are kube.Options as `epilogue k8s post-render` flags.
func flags(opt kube.Options) []string {
	var f []string
	if opt.ShimImage != "" {
		f = append(f, "--shim-image="+opt.ShimImage)
	}
	if opt.MaxLinger != 0 {
		f = append(f, "--max-linger="+opt.MaxLinger.String())
	}
	if opt.TasksRedis != "" {
		f = append(f, "--tasks-redis="+opt.TasksRedis)
	}
	if opt.TasksLease != 0 {
		f = append(f, "--tasks-lease="+opt.TasksLease.String())
	}
	if opt.RecovererImage != "" {
		f = append(f, "--recoverer-image="+opt.RecovererImage)
	}
	if opt.RecovererAuthKey != "" {
		f = append(f, "--recoverer-auth="+opt.RecovererAuthKey)
	}
	return f
}

// trimmed is a manifest as `helm template` prints it.
func trimmed(s string) string { return strings.TrimSpace(s) + "\n" }

// readRealRender reads one of kube/testdata's real `helm template`
// outputs of deploy-kube.
func readRealRender(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "kube", "testdata", name))
	require.NoError(t, err)
	return b
}
