package entity

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zipBase64 is what wsk sends as exec.code for action.zip: the base64 of a zip.
func zipBase64(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("exec")
	require.NoError(t, err)
	_, err = w.Write([]byte("#!/bin/sh\necho hi\n"))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func defaultAnnotations() KeyValues {
	return KeyValues{{Key: "exec", Value: json.RawMessage(`"blackbox"`)}, {Key: "provide-api-key", Value: json.RawMessage(`false`)}}
}

// Bodies captured from wsk and client-go, exactly as they sent them.
func TestParseActionPutRecordedBodies(t *testing.T) {
	zipCode := zipBase64(t)
	tests := []struct {
		name      string
		namespace string
		action    string
		body      string
		want      Action
	}{
		{
			name:      "wsk create --docker with a zip and every limit flag (4.2)",
			namespace: "guest", action: "myact",
			body: `{"namespace":"_","name":"myact","exec":{"kind":"blackbox","code":"` + zipCode + `","image":"example/img:latest","main":"main"},"limits":{"timeout":30000,"memory":256,"logs":5,"concurrency":1}}`,
			want: Action{
				Namespace: "guest", Name: "myact",
				Exec:        Exec{Kind: "blackbox", Image: "example/img:latest", Code: zipCode, Main: "main", Binary: true},
				Annotations: defaultAnnotations(), Parameters: KeyValues{},
				Limits: Limits{Timeout: 30000, Memory: 256, Logs: 5, Concurrency: 1},
			},
		},
		{
			name:      "wsk create --docker without a file (4.2)",
			namespace: "guest", action: "myact2",
			body: `{"namespace":"_","name":"myact2","exec":{"kind":"blackbox","image":"example/img:latest"}}`,
			want: Action{
				Namespace: "guest", Name: "myact2",
				Exec:        Exec{Kind: "blackbox", Image: "example/img:latest"},
				Annotations: defaultAnnotations(), Parameters: KeyValues{}, Limits: DefaultLimits(),
			},
		},
		{
			name:      "wsk create in a package with a raw shell script (4.1 #1)",
			namespace: "guest", action: "pkg/qa",
			body: `{"namespace":"guest","name":"pkg/qa","exec":{"kind":"blackbox","code":"#!/bin/sh\necho hi\n","image":"example/img"}}`,
			want: Action{
				Namespace: "guest/pkg", Name: "qa",
				Exec:        Exec{Kind: "blackbox", Image: "example/img", Code: "#!/bin/sh\necho hi\n", Binary: false},
				Annotations: defaultAnnotations(), Parameters: KeyValues{}, Limits: DefaultLimits(),
			},
		},
		{
			name:      "wsk update body (4.1 #4)",
			namespace: "guest", action: "myact",
			body: `{"namespace":"_","name":"myact","exec":{"kind":"blackbox","image":"example/img:2"}}`,
			want: Action{
				Namespace: "guest", Name: "myact",
				Exec:        Exec{Kind: "blackbox", Image: "example/img:2"},
				Annotations: defaultAnnotations(), Parameters: KeyValues{}, Limits: DefaultLimits(),
			},
		},
		{
			name:      "client-go Actions.Insert (4.1 #7)",
			namespace: "guest", action: "hello",
			body: `{"name":"hello","exec":{"kind":"blackbox","code":"UEsDBAo=","image":"example/img:latest"},"limits":{"timeout":30000,"memory":256}}`,
			want: Action{
				Namespace: "guest", Name: "hello",
				Exec:        Exec{Kind: "blackbox", Image: "example/img:latest", Code: "UEsDBAo=", Binary: true},
				Annotations: defaultAnnotations(), Parameters: KeyValues{},
				Limits: Limits{Timeout: 30000, Memory: 256, Logs: 10, Concurrency: 1},
			},
		},
		{
			name:      "parameters, annotations, version and publish",
			namespace: "guest", action: "p",
			body: `{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"key":"x","value":{ "a" : 1 }},{"key":"y","value":null}],` +
				`"annotations":[{"key":"web-export","value":true},{"key":"provide-api-key","value":true},{"key":"exec","value":"nodejs"}],"version":"1.2.3","publish":true}`,
			want: Action{
				Namespace: "guest", Name: "p", Version: "1.2.3", Publish: true,
				Exec:       Exec{Kind: "blackbox", Image: "i"},
				Parameters: KeyValues{{Key: "x", Value: json.RawMessage(`{"a":1}`)}, {Key: "y", Value: json.RawMessage(`null`)}},
				Annotations: KeyValues{
					{Key: "web-export", Value: json.RawMessage(`true`)},
					{Key: "provide-api-key", Value: json.RawMessage(`true`)},
					{Key: "exec", Value: json.RawMessage(`"blackbox"`)},
				},
				Limits: DefaultLimits(),
			},
		},
		{
			name:      "logs 0 is a legal limit and is kept",
			namespace: "guest", action: "quiet",
			body: `{"exec":{"kind":"blackbox","image":"i"},"limits":{"logs":0}}`,
			want: Action{
				Namespace: "guest", Name: "quiet", Exec: Exec{Kind: "blackbox", Image: "i"},
				Annotations: defaultAnnotations(), Parameters: KeyValues{},
				Limits: Limits{Timeout: DefaultTimeoutMs, Memory: DefaultMemoryMB, Logs: 0, Concurrency: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseActionPut([]byte(tt.body), tt.namespace, tt.action)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestParseActionPutGo: Go source actions keep their kind, code and main as
// wsk sends them (wsk action create NAME main.go --kind go:1.22 [--main f]);
// a zip's code is binary.
func TestParseActionPutGo(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Exec
	}{
		{"one file", `{"exec":{"kind":"go:1.22","code":"package main\n"}}`, Exec{Kind: "go:1.22", Code: "package main\n"}},
		{"go:default with --main", `{"exec":{"kind":"go:default","code":"package main","main":"hello"}}`, Exec{Kind: KindGoDefault, Code: "package main", Main: "hello"}},
		{"a zip", `{"exec":{"kind":"go:1.24","code":"UEsDBA=="}}`, Exec{Kind: "go:1.24", Code: "UEsDBA==", Binary: true}},
		{"--native", `{"exec":{"kind":"blackbox","image":"openwhisk/dockerskeleton","code":"UEsDBA=="}}`, Exec{Kind: KindBlackbox, Image: NativeImage, Code: "UEsDBA==", Binary: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseActionPut([]byte(tt.body), "guest", "a")
			require.NoError(t, err)
			assert.Equal(t, tt.want, a.Exec)
			kind, ok := a.Annotations.Get(AnnotationExec)
			require.True(t, ok)
			assert.JSONEq(t, `"`+tt.want.Kind+`"`, string(kind))
		})
	}
}

func TestParseActionPutErrors(t *testing.T) {
	tests := []struct {
		name      string
		namespace string
		action    string
		body      string
		wantIn    []string // substrings of the message
	}{
		{"not JSON", "guest", "a", `{"exec":`, []string{"not a valid action document", `"kind":"blackbox"`}},
		{"not an object", "guest", "a", `[1]`, []string{"not a valid action document"}},
		{"no exec", "guest", "a", `{}`, []string{"exec is missing", "wsk action create NAME --docker epilogue/action-go action.zip"}},
		{"null body", "guest", "a", `null`, []string{"exec is missing"}},
		{"nodejs kind", "guest", "a", `{"exec":{"kind":"nodejs:20","code":"x"}}`, []string{`exec.kind "nodejs:20" is not supported`, "runs Go actions", "main.go --kind go:1.22", "--docker epilogue/action-go action.zip"}},
		{"go kind without code", "guest", "a", `{"exec":{"kind":"go:1.22"}}`, []string{"exec.code is missing", "Go source", "wsk action create NAME main.go --kind go:1.22"}},
		{"go kind with blank code", "guest", "a", `{"exec":{"kind":"go:default","code":" "}}`, []string{"exec.code is missing"}},
		{"go kind of no Go version", "guest", "a", `{"exec":{"kind":"go:2","code":"package main"}}`, []string{`exec.kind "go:2" is not supported`}},
		{"sequence without components", "guest", "a", `{"exec":{"kind":"sequence"}}`, []string{MsgSequenceEmpty}},
		{"sequence too long", "guest", "a", `{"exec":{"kind":"sequence","components":[` + strings.Repeat(`"/_/x",`, MaxSequenceLength) + `"/_/x"]}}`, []string{MsgSequenceTooLong}},
		{"sequence component not qualified", "guest", "a", `{"exec":{"kind":"sequence","components":["x"]}}`, []string{`"x" is not a fully qualified action name`}},
		{"sequence component bad name", "guest", "a", `{"exec":{"kind":"sequence","components":["/_/$x"]}}`, []string{`name "$x" is not allowed`}},
		{"no kind", "guest", "a", `{"exec":{"image":"i"}}`, []string{"exec.kind is missing"}},
		{"no image", "guest", "a", `{"exec":{"kind":"blackbox","code":"x"}}`, []string{"exec.image is missing", "--docker epilogue/action-go"}},
		{"blank image", "guest", "a", `{"exec":{"kind":"blackbox","image":"  "}}`, []string{"exec.image is missing"}},
		{"image with a space", "guest", "a", `{"exec":{"kind":"blackbox","image":"a b"}}`, []string{"not a Docker image reference"}},
		{"code not a string", "guest", "a", `{"exec":{"kind":"blackbox","image":"i","code":{"attachmentName":"x"}}}`, []string{"not a valid action document"}},
		{"timeout too small", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"limits":{"timeout":50}}`, []string{"limits.timeout 50 ms is below the minimum of 100 ms", "--timeout"}},
		{"timeout too large", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"limits":{"timeout":300001}}`, []string{"above the maximum of 300000 ms"}},
		{"memory too large", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"limits":{"memory":1024}}`, []string{"limits.memory 1024 MB is above the maximum of 512 MB", "--memory"}},
		{"concurrency 2", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"limits":{"concurrency":2}}`, []string{"limits.concurrency 2", "maximum of 1"}},
		{"limits mistyped", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"limits":{"timeout":"60s"}}`, []string{"limits:", "\"timeout\":<ms>"}},
		{"parameters not an array", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"parameters":{"x":1}}`, []string{"parameters:", `[{"key":"name","value":<JSON>}`}},
		{"parameter without key", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"value":1}]}`, []string{"parameters: entry 0 has no \"key\""}},
		{"annotation without value", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"annotations":[{"key":"k"}]}`, []string{`annotations: entry 0 ("k") has no "value"`}},
		{"bad version", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"version":"1.2"}`, []string{`version "1.2" is not major.minor.patch`}},
		{"zero version", "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"version":"0.0.0"}`, []string{`version "0.0.0"`}},
		{"bad name", "guest", "a$b", `{"exec":{"kind":"blackbox","image":"i"}}`, []string{`name "a$b" is not allowed`}},
		{"too deep", "guest", "a/b/c", `{"exec":{"kind":"blackbox","image":"i"}}`, []string{"NAME or PACKAGE/NAME"}},
		{"empty name", "guest", "", `{"exec":{"kind":"blackbox","image":"i"}}`, []string{`name "" is not allowed`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseActionPut([]byte(tt.body), tt.namespace, tt.action)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			for _, s := range tt.wantIn {
				assert.Contains(t, err.Error(), s)
			}
			assert.Equal(t, 1, strings.Count(err.Error(), "entity: "), "prefix once: %s", err)
		})
	}
}

func TestActionPutUpdate(t *testing.T) {
	old := Action{
		Namespace: "guest", Name: "myact", Version: "0.0.3", Publish: true, Updated: 1000,
		Exec:        Exec{Kind: "blackbox", Image: "example/img:1", Code: "UEsDBAo=", Binary: true},
		Parameters:  KeyValues{{Key: "p", Value: json.RawMessage(`1`)}},
		Annotations: KeyValues{{Key: "a", Value: json.RawMessage(`"x"`)}, {Key: "exec", Value: json.RawMessage(`"blackbox"`)}, {Key: "provide-api-key", Value: json.RawMessage(`false`)}},
		Limits:      Limits{Timeout: 30000, Memory: 512, Logs: 5, Concurrency: 1},
	}
	tests := []struct {
		name   string
		body   string
		modify func(a *Action) // applied to old to get the expected result
	}{
		{
			name: "wsk update with only a new image (4.1 #4): exec replaced whole, the rest kept, version left to the store",
			body: `{"namespace":"_","name":"myact","exec":{"kind":"blackbox","image":"example/img:2"}}`,
			modify: func(a *Action) {
				a.Exec = Exec{Kind: "blackbox", Image: "example/img:2"}
				a.Version = ""
			},
		},
		{
			name: "limits merged field by field",
			body: `{"limits":{"memory":128}}`,
			modify: func(a *Action) {
				a.Limits.Memory = 128
				a.Version = ""
			},
		},
		{
			name: "parameters, annotations, publish and version replaced",
			body: `{"parameters":[],"annotations":[{"key":"b","value":2}],"publish":false,"version":"2.0.0"}`,
			modify: func(a *Action) {
				a.Parameters = KeyValues{}
				a.Annotations = KeyValues{{Key: "b", Value: json.RawMessage(`2`)}, {Key: "exec", Value: json.RawMessage(`"blackbox"`)}, {Key: "provide-api-key", Value: json.RawMessage(`false`)}}
				a.Publish = false
				a.Version = "2.0.0"
			},
		},
		{
			name: "delAnnotations",
			body: `{"delAnnotations":["a"]}`,
			modify: func(a *Action) {
				a.Annotations = a.Annotations[1:]
				a.Version = ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			put, err := DecodeActionPut([]byte(tt.body))
			require.NoError(t, err)
			before := clone(t, old)
			got, err := put.Update(old)
			require.NoError(t, err)
			want := clone(t, old)
			tt.modify(&want)
			assert.Equal(t, want, got)
			assert.Equal(t, before, old, "Update must not modify the old action")
		})
	}

	t.Run("an update that breaks a limit fails", func(t *testing.T) {
		put, err := DecodeActionPut([]byte(`{"limits":{"timeout":1}}`))
		require.NoError(t, err)
		_, err = put.Update(old)
		assert.ErrorIs(t, err, ErrInvalid)
	})
}

func clone(t *testing.T, a Action) Action {
	t.Helper()
	b, err := json.Marshal(a)
	require.NoError(t, err)
	var c Action
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

// The action document the controller returns with the
// fields wsk reads: exec.kind, the exec annotation, limits, version.
func TestActionMarshal(t *testing.T) {
	a, err := ParseActionPut([]byte(`{"name":"hello","exec":{"kind":"blackbox","code":"UEsDBAo=","image":"example/img:latest"},"limits":{"timeout":30000,"memory":256}}`), "guest", "hello")
	require.NoError(t, err)
	a.Version, a.Updated = InitialVersion, 1700000000000

	b, err := json.Marshal(a)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"namespace":"guest","name":"hello","version":"0.0.1",
		"exec":{"kind":"blackbox","image":"example/img:latest","code":"UEsDBAo=","binary":true},
		"annotations":[{"key":"exec","value":"blackbox"},{"key":"provide-api-key","value":false}],
		"parameters":[],
		"limits":{"timeout":30000,"memory":256,"logs":10,"concurrency":1},
		"publish":false,"updated":1700000000000}`, string(b))

	b, err = json.Marshal(a.WithoutCode())
	require.NoError(t, err)
	assert.NotContains(t, string(b), "code")
	assert.Contains(t, string(b), `"binary":true`)

	b, err = json.Marshal(a.Summary())
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"namespace":"guest","name":"hello","version":"0.0.1","publish":false,
		"annotations":[{"key":"exec","value":"blackbox"},{"key":"provide-api-key","value":false}],
		"limits":{"timeout":30000,"memory":256,"logs":10,"concurrency":1},
		"exec":{"binary":true},"updated":1700000000000}`, string(b))

	// client-go's Action type (whisk/action.go) decodes it.
	var cg struct {
		Namespace string `json:"namespace,omitempty"`
		Name      string `json:"name,omitempty"`
		Version   string `json:"version,omitempty"`
		Exec      *struct {
			Kind   string  `json:"kind,omitempty"`
			Code   *string `json:"code,omitempty"`
			Image  string  `json:"image,omitempty"`
			Main   string  `json:"main,omitempty"`
			Binary *bool   `json:"binary,omitempty"`
		} `json:"exec,omitempty"`
		Limits *struct {
			Timeout     *int `json:"timeout,omitempty"`
			Memory      *int `json:"memory,omitempty"`
			Logsize     *int `json:"logs,omitempty"`
			Concurrency *int `json:"concurrency,omitempty"`
		} `json:"limits,omitempty"`
		Publish *bool `json:"publish,omitempty"`
		Updated int64 `json:"updated,omitempty"`
	}
	b, err = json.Marshal(a)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cg))
	assert.Equal(t, "hello", cg.Name)
	assert.Equal(t, "blackbox", cg.Exec.Kind)
	assert.Equal(t, "example/img:latest", cg.Exec.Image)
	assert.True(t, *cg.Exec.Binary)
	assert.Equal(t, 30000, *cg.Limits.Timeout)
	assert.Equal(t, 10, *cg.Limits.Logsize)
}

func TestSplitPath(t *testing.T) {
	tests := []struct {
		namespace, name string
		wantNS, wantN   string
		wantErr         bool
	}{
		{"guest", "act", "guest", "act", false},
		{"guest", "pkg/act", "guest/pkg", "act", false},
		{"guest/pkg", "act", "guest/pkg", "act", false},
		{"guest", "my action-1.0@x", "guest", "my action-1.0@x", false},
		{"guest", "a/b/c", "", "", true},
		{"guest", "-a", "", "", true},
		{"guest", "a ", "", "", true},
		{"guest", "/a", "", "", true},
		{"", "a", "", "", true},
		{"guest", strings.Repeat("a", MaxNameLength+1), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.namespace+"|"+tt.name, func(t *testing.T) {
			ns, n, err := SplitPath(tt.namespace, tt.name)
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantNS, ns)
			assert.Equal(t, tt.wantN, n)
		})
	}
}

func TestNextVersion(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.1": "0.0.2", "1.2.9": "1.2.10", "": InitialVersion, "x": InitialVersion,
	} {
		assert.Equal(t, want, NextVersion(in), in)
	}
}

// openWhiskBinary is OpenWhisk's Exec.isBinaryCode, transcribed: Java's
// trim, the length rule and the regular expression.
var openWhiskBase64 = regexp.MustCompile(`^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$`)

func openWhiskBinary(code string) bool {
	t := strings.TrimFunc(code, func(r rune) bool { return r <= ' ' })
	return len(t) > 0 && len(t)%4 == 0 && openWhiskBase64.MatchString(t)
}

func TestIsBinaryCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"UEsDBAo=", true},
		{"UEsDBA==", true},
		{"UEsDBAoA", true},
		{"  UEsDBAo=\n", true},
		{"\x00UEsD\x1f", true}, // Java's trim removes every control character
		{"", false},
		{"    ", false},
		{"UEsDBAo", false},
		{"UEsD=AoA", false},
		{"UEs=", true},
		{"UE==", true},
		{"U===", false},
		{"====", false},
		{"#!/bin/sh\necho hi\n", false},
		{"main", true}, // 4 base64 letters: OpenWhisk calls it binary too
		{"UEsD\u00a0", false},
		{"UE-_", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			assert.Equal(t, tt.want, IsBinaryCode(tt.code))
			assert.Equal(t, openWhiskBinary(tt.code), IsBinaryCode(tt.code), "differs from OpenWhisk's rule")
		})
	}
}

func FuzzIsBinaryCode(f *testing.F) {
	for _, s := range []string{"UEsDBAo=", "UE==", "U===", " abcd ", "ab\ncd", "", "a+/="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		if got, want := IsBinaryCode(code), openWhiskBinary(code); got != want {
			t.Fatalf("IsBinaryCode(%q) = %v; OpenWhisk says %v", code, got, want)
		}
	})
}

// FuzzParseActionPut: untrusted bodies never panic, and every accepted body
// gives an action that survives json.Marshal + ParseActionPut unchanged.
func FuzzParseActionPut(f *testing.F) {
	for _, s := range []string{
		`{"namespace":"guest","name":"pkg/qa","exec":{"kind":"blackbox","code":"#!/bin/sh\necho hi\n","image":"example/img"}}`,
		`{"namespace":"_","name":"myact","exec":{"kind":"blackbox","image":"example/img:2"}}`,
		`{"name":"hello","exec":{"kind":"blackbox","code":"UEsDBAo=","image":"example/img:latest"},"limits":{"timeout":30000,"memory":256}}`,
		`{"namespace":"_","name":"myact","exec":{"kind":"blackbox","code":"UEsDBAo=","image":"example/img:latest","main":"main"},"limits":{"timeout":30000,"memory":256,"logs":5,"concurrency":1}}`,
		`{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"key":"x","value":{ "a" : "<\u2028>" }}],"annotations":[{"key":"exec","value":1},{"key":"k","value":1},{"key":"k","value":2}],"version":"1.0.0","publish":true,"delAnnotations":["k"]}`,
		`{"exec":{"kind":"nodejs:20","code":"x"}}`,
		`{"exec":{"kind":"blackbox","image":"i","code":"\xff\xfe"}}`,
		`{"EXEC":{"KIND":"blackbox","Image":"i"},"limits":{"logs":0}}`,
		`null`, `[]`, `{}`, ``,
	} {
		f.Add([]byte(s), "guest", "act")
	}
	f.Add([]byte(`{"exec":{"kind":"blackbox","image":"i"}}`), "guest", "pkg/act")
	f.Fuzz(func(t *testing.T, body []byte, namespace, name string) {
		a, err := ParseActionPut(body, namespace, name)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "entity: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("marshal %+v: %v", a, err)
		}
		again, err := ParseActionPut(b, namespace, name)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		assert.Equal(t, a, again, "round trip through %s", b)
		if t.Failed() {
			t.FailNow()
		}
	})
}
