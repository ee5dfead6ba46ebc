package kube

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// The grace period follows the chart's limit and the flags, not a constant.
func TestGracePeriodFromValues(t *testing.T) {
	in := readTestdata(t, "owdev-kubernetes.yaml")
	tests := []struct {
		chartMax string
		opt      Options
		want     time.Duration
	}{
		{"5m", Options{}, 10 * time.Minute},
		{"300 s", Options{MaxLinger: time.Minute}, 6 * time.Minute},
		{"10 minutes", Options{}, 15 * time.Minute},
		{"90s", Options{MaxLinger: 1500 * time.Millisecond}, 92 * time.Second},
		{"5m", Options{MaxTimeLimit: 20 * time.Minute}, 25 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.chartMax, func(t *testing.T) {
			src := bytes.Replace(in, []byte(invokerTimeLimit("5m")), []byte(invokerTimeLimit(tt.chartMax)), 1)
			require.NotEqual(t, tt.chartMax != "5m", bytes.Equal(src, in), "the invoker's time.max was not replaced")
			res, err := PostRender(src, tt.opt)
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.GracePeriod)
			want := int64((tt.want + time.Second - 1) / time.Second)
			assert.True(t, bytes.Contains(res.Manifests, []byte("terminationGracePeriodSeconds: "+strconv.FormatInt(want, 10)+"\n")),
				"no terminationGracePeriodSeconds: %d in the output", want)
		})
	}
}

// invokerTimeLimit is whisk.limits.actions.time.max as the chart renders
// it into the invoker (the controller's is indented less).
func invokerTimeLimit(v string) string {
	return "          - name: \"CONFIG_whisk_timeLimit_max\"\n            value: \"" + v + "\"\n"
}

func TestPostRenderErrors(t *testing.T) {
	docker := string(readTestdata(t, "owdev-docker.yaml"))
	kubernetes := string(readTestdata(t, "owdev-kubernetes.yaml"))
	tests := []struct {
		name, in string
		opt      Options
		is       error
		want     []string
	}{
		{"empty", "", Options{}, ErrNoInvoker, []string{"found no objects", `container named "invoker"`}},
		{"only a service", "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: owdev-controller\nspec:\n  ports:\n  - port: 8080\n", Options{}, ErrNoInvoker,
			[]string{"1 objects: Service owdev-controller", "DaemonSet", "StatefulSet"}},
		{"a StatefulSet of another container", strings.Replace(kubernetes, "- name: invoker\n", "- name: not-the-invoker\n", 1), Options{}, ErrNoInvoker,
			[]string{"StatefulSet owdev-invoker"}},
		{"useRunc true", strings.Replace(docker, "name: \"CONFIG_whisk_docker_containerFactory_useRunc\"\n            value: \"false\"", "name: \"CONFIG_whisk_docker_containerFactory_useRunc\"\n            value: \"true\"", 1), Options{}, nil,
			[]string{"runc pauses bypass the Docker daemon", "useRunc: false"}},
		{"use-runc in invoker.options", strings.Replace(docker, `value: " -Dwhisk.spi`, `value: "-Dwhisk.docker.container-factory.use-runc=true -Dwhisk.spi`, 1), Options{}, nil,
			[]string{"invoker.options sets -Dwhisk.docker.container-factory.use-runc=true"}},
		{"no docker socket volume", strings.Replace(docker, `path: "/var/run/docker.sock"`, `path: "/var/run/other.sock"`, 1), Options{}, nil,
			[]string{"no hostPath volume of the node's /var/run/docker.sock"}},
		{"time limit flag below the chart's", kubernetes, Options{MaxTimeLimit: time.Minute}, nil,
			[]string{"--max-time-limit 1m0s is below the chart's whisk.limits.actions.time.max (5m)"}},
		{"a pod template of the operator's", strings.Replace(kubernetes, "          - name: \"PORT\"\n", "          - name: \"CONFIG_whisk_kubernetes_podTemplate\"\n            value: \"file:/mine.yaml\"\n          - name: \"PORT\"\n", 1), Options{}, nil,
			[]string{"already has an action pod template", "file:/mine.yaml"}},
		{"an unparsable limit", strings.Replace(kubernetes, invokerTimeLimit("5m"), invokerTimeLimit("five minutes"), 1), Options{}, nil,
			[]string{"CONFIG_whisk_timeLimit_max", "five minutes"}},
		{"not YAML", "---\nkind: [\n", Options{}, nil, []string{"document 2 is not YAML"}},
		{"linger below the cancel grace", kubernetes, Options{MaxLinger: time.Millisecond}, nil, []string{"below the runtime's cancel grace"}},
		{"a bad pull policy", docker, Options{ShimPullPolicy: "Sometimes"}, nil, []string{`"Sometimes"`, "IfNotPresent"}},
		{"a bad quantity", docker, Options{Shim: Resources{MemoryLimit: "lots"}}, nil, []string{`shim memory limit "lots"`}},
		{"a shim memory request above its limit", docker, Options{Shim: Resources{MemoryRequest: "1Gi"}}, nil, []string{"shim memory request 1Gi is above its limit 256Mi"}},
		{"a bad recoverer quantity", kubernetes, Options{TasksRedis: "r:6379", Recoverer: Resources{CPURequest: "a bit"}}, nil, []string{`recoverer cpu request "a bit"`}},
		{"a recoverer memory request above its limit", kubernetes, Options{TasksRedis: "r:6379", Recoverer: Resources{MemoryLimit: "8Mi"}}, nil, []string{"recoverer memory request 16Mi is above its limit 8Mi"}},
		{"a bad metrics port", docker, Options{MetricsPort: 70000}, nil, []string{"metrics port 70000 is not a TCP port"}},
		{"a task store that is no address", kubernetes, Options{TasksRedis: "http://redis"}, nil, []string{"--tasks-redis", `"http://redis"`, "host:port"}},
		{"a tasks lease below a second", kubernetes, Options{TasksRedis: "r:6379", TasksLease: time.Millisecond}, nil, []string{"tasks lease 1ms is below a second"}},
		{"a recoverer key deploy-kube has not", docker, Options{TasksRedis: "r:6379", RecovererAuthKey: "admin"}, nil, []string{`recoverer auth key "admin"`, "guest and system"}},
		{"no controller Service for the recoverer", strings.Replace(kubernetes, "  name: owdev-controller\n  labels:\n    name: owdev-controller\n", "  name: owdev-gone\n  labels:\n    name: owdev-controller\n", 1), Options{TasksRedis: "r:6379"}, nil,
			[]string{"no Service owdev-controller"}},
		{"the metrics port on the notify port", docker, Options{MetricsPort: DefaultNotifyPort}, nil, []string{"metrics port 7543 is the notify port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PostRender([]byte(tt.in), tt.opt)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseHOCONDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true},
		{"300 s", 300 * time.Second, true},
		{"1 minute", time.Minute, true},
		{"10 minutes", 10 * time.Minute, true},
		{"100ms", 100 * time.Millisecond, true},
		{"1500", 1500 * time.Millisecond, true},
		{"2h", 2 * time.Hour, true},
		{"1.5m", 90 * time.Second, true},
		{"", 0, false},
		{"m", 0, false},
		{"5 fortnights", 0, false},
		{"-5m", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseHOCONDuration(tt.in)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestPostRenderAppendsAfterAnUnterminatedLastLine: however the input's
// last line ends (a body or a "---" without a newline), the documents the
// post-renderer appends start on lines of their own, so its output
// patches again to itself.
func TestPostRenderAppendsAfterAnUnterminatedLastLine(t *testing.T) {
	base := strings.TrimRight(string(readTestdata(t, "minimal-kubernetes.yaml")), "\n")
	for _, tc := range []struct{ name, tail string }{
		{name: "body without a newline"},
		{name: "comment without a newline", tail: "\n# end"},
		{name: "separator without a newline", tail: "\n---"},
		{name: "separator with a comment, without a newline", tail: "\n--- # end"},
		{name: "separator ending in CR", tail: "\n---\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := PostRender([]byte(base+tc.tail), Options{})
			require.NoError(t, err)
			assert.Contains(t, string(res.Manifests), "\n---\n# Source: epilogue k8s post-render", "the appended document starts on a line of its own")
			again, err := PostRender(res.Manifests, Options{})
			require.NoError(t, err, "the output patches again")
			assert.Equal(t, string(res.Manifests), string(again.Manifests))
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 1},
		{"a: 1\n", 1},
		{"---\na: 1\n", 2},
		{"---\na: 1\n---\nb: 2", 3},
		{"--- # c\na: 1\n---\r\nb: 2\n", 3},
		{"a: '---'\nb: |\n  ---x\n", 1},
	}
	for _, tt := range tests {
		docs := splitDocuments([]byte(tt.in))
		assert.Len(t, docs, tt.want, "%q", tt.in)
		assert.Equal(t, tt.in, string(joinDocuments(docs)))
	}
}

// FuzzPostRender: on any input the post-renderer returns or fails, never
// panics; what it returns splits back into its input's documents and
// patching it again changes nothing.
func FuzzPostRender(f *testing.F) {
	// Small seeds: the whole releases (190 KB) make each run slow.
	f.Add(readTestdata(f, "minimal-docker.yaml"))
	f.Add(readTestdata(f, "minimal-kubernetes.yaml"))
	f.Add([]byte("---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: invoker\n"))
	f.Add([]byte("---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: invoker\n"))
	f.Add([]byte("--- #\n---\n\n...\n"))
	f.Add([]byte("---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: x-invoker\nspec:\n  template:\n    spec:\n      containers:\n      - name: invoker\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: x-controller\nspec:\n  ports:\n  - port: 8080\n    name: http\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		assert.Equal(t, string(in), string(joinDocuments(splitDocuments(in))))
		res, err := PostRender(in, Options{})
		if err != nil {
			return
		}
		again, err := PostRender(res.Manifests, Options{})
		require.NoError(t, err, "the output of a successful patch does not patch again")
		assert.Equal(t, string(res.Manifests), string(again.Manifests))

		// With the recoverer: the controller Service is read from the
		// input too.
		tasks := Options{TasksRedis: "redis.tasks:6379"}
		res, err = PostRender(in, tasks)
		if err != nil {
			return
		}
		again, err = PostRender(res.Manifests, tasks)
		require.NoError(t, err, "the output of a successful patch with --tasks-redis does not patch again")
		assert.Equal(t, string(res.Manifests), string(again.Manifests))
	})
}
