package conformance

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

// Upstream's messages, which OpenWhisk users and tests match on.
const (
	msgNoCode        = "Missing main/no code to execute."
	msgInitTwice     = "Cannot initialize the action more than once."
	msgNoAction      = "no action defined yet"
	msgCommandExited = "command exited"
	msgNotObject     = "The action did not return a dictionary or array."
	msgStartLogged   = "Cannot start action. Check logs for details."
	msgExtractLogged = "The action failed to generate or locate a binary. See logs for details."
)

// ---------------------------------------------------------------------------
// A. /init
// ---------------------------------------------------------------------------

// TestInit is deliberately not parallel with the other top-level tests: its
// first subtest races upstream's 5 ms start probe, so it runs alone.
func TestInit(t *testing.T) {
	t.Run("A10 content that cannot run gets 502 command exited", func(t *testing.T) {
		// A program that exits at once must be seen dead within upstream's
		// 5 ms start probe. exitELF exits on its first instruction, but on a
		// busy machine the child may not be scheduled within 5 ms at all: then
		// upstream's probe (and ours) counts it as started, by design. So each
		// try is 502 (exit seen) or 200 (probe lost the race, nothing else),
		// and at least one of several fresh proxies must see the exit.
		t.Run("program that exits at once", func(t *testing.T) {
			body := initBody(t, base64.StdEncoding.EncodeToString(exitELF()), true, "", nil)
			const tries = 20
			for try := 1; try <= tries; try++ {
				p := startProxy(t)
				r := p.init(t, body)
				if r.Status == http.StatusOK {
					t.Logf("try %d: the 5 ms start probe ended before the child ran (busy machine); trying again", try)
					continue
				}
				r.requireError(t, http.StatusBadGateway, "cannot start action: "+msgCommandExited)
				p.expectLogs(t, 0, "", "")
				return
			}
			t.Fatalf("in %d tries on fresh proxies, /init never saw a program that exits on its first instruction as exited", tries)
		})
		cases := []struct{ name, body string }{
			{"empty exec in a zip", initBody(t, zipB64(t, entry{Name: "exec", Mode: 0o755}), true, "", nil)},
			{"plain text", initBody(t, "this is not a program\n", false, "", nil)},
			{"zip with exec only in a subdirectory", initBody(t, zipB64(t, entry{Name: "sub/exec", Body: fixtureELF, Mode: 0o755}), true, "", nil)},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := startProxy(t)
				p.init(t, c.body).requireError(t, http.StatusBadGateway, "cannot start action: "+msgCommandExited)
				p.expectLogs(t, 0, "", "")
			})
		}
	})

	refusals := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"A1 empty object gets 403 missing code", `{}`, http.StatusForbidden, msgNoCode},
		{"A2 empty code with env null gets 403 missing code", `{"value":{"code":"","main":"main","binary":false,"env":null}}`, http.StatusForbidden, msgNoCode},
		{"A3 body that is not JSON gets 400", `XXX`, http.StatusBadRequest, "Error unmarshaling request: invalid character 'X' looking for beginning of value"},
		{"A12 bad base64 with binary true gets 400", `{"value":{"code":"!!!!","main":"main","binary":true}}`, http.StatusBadRequest, "cannot decode the request: illegal base64 data at input byte 0"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t)
			p.init(t, c.body).requireError(t, c.status, c.msg)
			p.expectLogs(t, 0, "", "")
			// Nothing ran, so a good init still works.
			p.mustInit(t, fixtureInit(t, nil))
		})
	}

	t.Run("A2 env null does not break decoding of a valid init", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		body := fmt.Sprintf(`{"value":{"code":%q,"main":"main","binary":true,"env":null}}`, fixtureZipB64(t))
		p.mustInit(t, body)
		p.run(t, obj{"quiet": true}).requireJSON(t, `{"quiet":true}`)
	})

	t.Run("A4 valid init gets 200 ok", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		r := p.init(t, fixtureInit(t, nil))
		r.requireOK(t)
		assert.Equalf(t, "{\"ok\":true}\n", string(r.Body), "body: got %q; want %q", r.Body, "{\"ok\":true}\n")
		r.requireFramed(t)
	})

	t.Run("A5 second init is refused", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		r := p.init(t, fixtureInit(t, nil))
		r.requireError(t, http.StatusForbidden, msgInitTwice)
		want := `{"error":"` + msgInitTwice + `"}` + "\n"
		assert.Equalf(t, want, string(r.Body), "body: got %q; want %q", r.Body, want)
		logged := waitFor(logSettle, func() bool { return strings.Contains(p.stdout.String()+p.stderr.String(), msgInitTwice) })
		assert.Truef(t, logged, "stdout+stderr: got %q + %q; want them to contain %q", p.stdout.String(), p.stderr.String(), msgInitTwice)
		p.expectSentinels(t, 0)
		// The first action is still the one that runs.
		p.run(t, obj{"quiet": true}).requireJSON(t, `{"quiet":true}`)
	})

	t.Run("A6 raw ELF with binary true runs", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, initBody(t, fixtureELFB64(), true, "", nil))
		got, err := os.ReadFile(filepath.Join(p.cwd, "action", "1", "bin", "exec"))
		require.NoError(t, err)
		assert.Truef(t, string(got) == string(fixtureELF), "action/1/bin/exec: got %d bytes; want the %d-byte ELF", len(got), len(fixtureELF))
		p.run(t, obj{"name": "Mike"}).requireJSON(t, `{"name":"Mike"}`)
		p.expectLogs(t, 1, "hello stdout\n", "hello stderr\n")
	})

	t.Run("A7 zip with top-level exec runs and other files sit next to it", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, initBody(t, zipB64(t,
			execEntry(),
			entry{Name: "data.txt", Body: []byte("some data\n")},
			entry{Name: "lib/", Dir: true},
			entry{Name: "lib/config.json", Body: []byte(`{"k":"v"}`)},
		), true, "", nil))
		bin := filepath.Join(p.cwd, "action", "1", "bin")
		for name, want := range map[string]string{"data.txt": "some data\n", "lib/config.json": `{"k":"v"}`} {
			got, err := os.ReadFile(filepath.Join(bin, name))
			if assert.NoErrorf(t, err, "action/1/bin/%s", name) {
				assert.Equalf(t, want, string(got), "action/1/bin/%s: got %q; want %q", name, got, want)
			}
		}
		p.run(t, obj{"name": "Mike"}).requireJSON(t, `{"name":"Mike"}`)
	})

	t.Run("A8 bash script as plain text runs", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		script := bashAction(`echo "bash got ${#line} bytes"` + "\n" + `echo "{\"bash\":\"ok\",\"len\":${#line}}" >&3`)
		p.mustInit(t, initBody(t, script, false, "", nil))
		body := `{"value":{"name":"Mike"}}`
		r := p.post(t, "/run", body)
		r.requireJSON(t, fmt.Sprintf(`{"bash":"ok","len":%d}`, len(body)))
		p.expectLogs(t, 1, fmt.Sprintf("bash got %d bytes\n", len(body)), "")
	})

	t.Run("A9 tar.gz with exec runs", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, initBody(t, tarGzB64(t, execEntry(), entry{Name: "data.txt", Body: []byte("tar data")}), true, "", nil))
		got, err := os.ReadFile(filepath.Join(p.cwd, "action", "1", "bin", "data.txt"))
		require.NoError(t, err)
		assert.Equal(t, "tar data", string(got))
		p.run(t, obj{"name": "Mike"}).requireJSON(t, `{"name":"Mike"}`)
	})

	t.Run("A11 after a failed init run gets 500 and init can be retried", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.init(t, initBody(t, "not a program\n", false, "", nil)).requireError(t, http.StatusBadGateway, "cannot start action: "+msgCommandExited)
		p.run(t, obj{}).requireError(t, http.StatusInternalServerError, msgNoAction)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"quiet": true, "x": 1}).requireJSON(t, `{"quiet":true,"x":1}`)
	})

	t.Run("A13 init env is in the process environment from start", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, obj{"SOME_VAR": "xyz", "ANOTHER_VAR": ""}))
		p.run(t, obj{"quiet": true, "envprefix": "SOME_VAR"}).requireJSON(t, `{"env":"SOME_VAR=xyz"}`)
		p.run(t, obj{"quiet": true, "envprefix": "ANOTHER_VAR"}).requireJSON(t, `{"env":"ANOTHER_VAR="}`)
		p.expectLogs(t, 2, "", "")

		// From process start: a variable the fixture reads before anything
		// else (TESTACTION_EXIT_AT_START) takes effect. In ack mode the exit
		// is always seen, whatever the timing.
		q := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1"))
		r := q.init(t, fixtureInit(t, obj{"TESTACTION_EXIT_AT_START": "1"}))
		require.Equalf(t, http.StatusBadGateway, r.Status, "init with TESTACTION_EXIT_AT_START: got %s; want 502", r)
	})

	t.Run("A14 non-string env values are JSON-encoded", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, obj{
			"A14_N": 123, "A14_A": []int{1, 2, 3}, "A14_O": obj{"b": 2, "a": 1}, "A14_S": "string", "A14_T": true,
		}))
		got := envPairs(t, p.run(t, obj{"quiet": true, "envprefix": "A14_"}))
		want := map[string]string{"A14_N": "123", "A14_A": "[1,2,3]", "A14_O": `{"a":1,"b":2}`, "A14_S": "string", "A14_T": "true"}
		assert.Equalf(t, want, got, "env: got %v; want %v", got, want)
	})

	t.Run("A15 entry point other than main runs the precompiled exec", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, initBody(t, fixtureZipB64(t), true, "niam", nil))
		p.run(t, obj{"string": "hello", "quiet": true}).requireJSON(t, `{"string":"hello","quiet":true}`)
		p.expectLogs(t, 1, "", "")
	})

	// A16, A17, A18 (compiling on init) do not apply to a precompiled-only
	// runtime. In their place: source code is refused with a pointer to
	// epilogue build.
	sources := []struct{ name, body string }{
		{"A16 not applicable: a single Go source file gets 502 naming epilogue build",
			initBody(t, goSource, false, "", nil)},
		{"A17 not applicable: zipped Go sources without exec get 502 naming epilogue build",
			initBody(t, zipB64(t,
				entry{Name: "go.mod", Body: []byte("module hello\n\ngo 1.26\n")},
				entry{Name: "main.go", Body: []byte(goSource)},
				entry{Name: "lib/lib.go", Body: []byte("package lib\n\nfunc Hello() string { return \"hi\" }\n")},
			), true, "", nil)},
		{"A17 not applicable: zip whose exec is Go source gets 502 naming epilogue build",
			initBody(t, zipB64(t, entry{Name: "exec", Body: []byte(goSource), Mode: 0o755}), true, "", nil)},
	}
	for _, c := range sources {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t)
			r := p.init(t, c.body)
			require.Equalf(t, http.StatusBadGateway, r.Status, "status: got %s; want 502", r)
			assert.Containsf(t, r.errorText(t), "epilogue build", "error: got %q; want it to mention %q", r.errorText(t), "epilogue build")
			r.requireFramed(t)
			p.expectLogs(t, 0, "", "")
		})
	}
	t.Run("A18 not applicable: with OW_LOG_INIT_ERROR the source refusal is logged with one sentinel per stream", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("OW_LOG_INIT_ERROR=1"))
		r := p.init(t, initBody(t, goSource, false, "", nil))
		require.Equalf(t, http.StatusBadGateway, r.Status, "status: got %s; want 502", r)
		assert.Contains(t, r.errorText(t), "epilogue build")
		p.expectSentinels(t, 1)
		assert.Contains(t, stripSentinels(p.stderr.String()), "epilogue build")
	})

	t.Run("A19 OW_EXECUTION_ENV must match exec.env", func(t *testing.T) {
		t.Parallel()
		zipWith := func(v string) string {
			return initBody(t, zipB64(t, execEntry(), entry{Name: "exec.env", Body: []byte(v + "\n")}), true, "", nil)
		}
		p := startProxy(t, withEnv("OW_EXECUTION_ENV=bad/env"))
		p.init(t, zipWith("exec/env")).requireError(t, http.StatusBadGateway,
			"cannot start action: Execution environment version mismatch. See logs for details.")
		want := "Expected exec.env should start with bad/env\nActual value: exec/env"
		ok := waitFor(logSettle, func() bool { return strings.Contains(p.stdout.String(), want) })
		assert.Truef(t, ok, "stdout: got %q; want it to contain %q", p.stdout.String(), want)

		q := startProxy(t, withEnv("OW_EXECUTION_ENV=exec/env"))
		q.mustInit(t, zipWith("exec/env"))
		q.run(t, obj{"quiet": true}).requireJSON(t, `{"quiet":true}`)
	})

	t.Run("A20 ack mode: exit before the ack fails the init", func(t *testing.T) {
		t.Parallel()
		const msg = "Command exited abruptly during initialization."
		p := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1"))
		p.init(t, fixtureInit(t, obj{"TESTACTION_EXIT_AT_START": "1"})).requireError(t, http.StatusBadGateway, "cannot start action: "+msg)

		q := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1", "OW_LOG_INIT_ERROR=1"))
		r := q.init(t, fixtureInit(t, obj{"TESTACTION_EXIT_AT_START": "1"}))
		require.Equalf(t, http.StatusBadGateway, r.Status, "status: got %s; want 502", r)
		assert.Contains(t, r.errorText(t), "Cannot start action")
		q.expectSentinels(t, 1)
		assert.Contains(t, q.stderr.String(), msg)
	})

	t.Run("A21 ack mode: the ack line decides the init", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			ack    string
			status int
			msg    string
		}{
			{"bad ack", http.StatusBadGateway, "cannot start action: invalid character 'b' looking for beginning of value"},
			{"{}", http.StatusBadGateway, "cannot start action: The action did not initialize properly."},
			{`{"ok":false}`, http.StatusBadGateway, "cannot start action: The action did not initialize properly."},
			{`{"ok":true}`, http.StatusOK, ""},
		}
		for _, c := range cases {
			t.Run(c.ack, func(t *testing.T) {
				t.Parallel()
				p := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1"))
				// TESTACTION_UPSTREAM: a plain {"ok":true} ack is an upstream
				// executable's, so the fixture must speak the plain protocol.
				r := p.init(t, fixtureInit(t, obj{"TESTACTION_ACK": c.ack, "TESTACTION_UPSTREAM": "1"}))
				if c.status != http.StatusOK {
					r.requireError(t, c.status, c.msg)
					return
				}
				r.requireOK(t)
				p.run(t, obj{"quiet": true}).requireJSON(t, `{"quiet":true}`)
			})
		}
	})

	t.Run("A22 no-ack mode: an executable alive after the start probe counts as started", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		// TESTACTION_NO_ACK never writes anything and never reads stdin.
		r := p.init(t, fixtureInit(t, obj{"TESTACTION_NO_ACK": "1"}))
		r.requireOK(t)
		// Waiting for an ack would take the proxy's ack timeout (a minute);
		// half of it is far above a loaded machine's init.
		assert.Lessf(t, r.Elapsed, 30*time.Second, "init took %s; it must not wait for an ack", r.Elapsed)
	})

	t.Run("A23 a long init error carries Content-Length", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		long := "../" + strings.Repeat("a", 5000)
		r := p.init(t, initBody(t, zipB64(t, entry{Name: long, Body: []byte("x")}, entry{Name: "exec", Body: []byte("#!/bin/bash\n"), Mode: 0o755}), true, "", nil))
		require.Equalf(t, http.StatusBadGateway, r.Status, "status: got %s; want 502", r)
		r.errorText(t)
		require.Greaterf(t, len(r.Body), 2048, "precondition: the error body must exceed net/http's 2 KB buffer to exercise Q1; got %d bytes: %q", len(r.Body), r.Body)
		assert.Greater(t, r.ContentLength, int64(0))
		r.requireFramed(t)
	})
}

// ---------------------------------------------------------------------------
// B. /run
// ---------------------------------------------------------------------------

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("B1 run before init gets 500 no action defined yet", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.run(t, obj{}).requireError(t, http.StatusInternalServerError, msgNoAction)
		p.expectLogs(t, 0, "", "")
	})

	t.Run("B2 echo arguments and print to stdout and stderr", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		for _, args := range []string{`{"string":"hello"}`, `{"string":"❄ ☃ ❄"}`, `{"numbers":[42,1]}`, `{"object":{"a":"A"}}`} {
			p.post(t, "/run", `{"value":`+args+`}`).requireJSON(t, args)
		}
		p.expectLogs(t, 4, strings.Repeat("hello stdout\n", 4), strings.Repeat("hello stderr\n", 4))
	})

	t.Run("B3 unicode in input, result and logs", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"delimiter": "❄"}).requireJSON(t, `{"winter":"❄ ☃ ❄"}`)
		p.expectLogs(t, 1, "❄ ☃ ❄\n", "")
	})

	t.Run("B4 context keys and the container's __OW_API_HOST reach the action", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("__OW_API_HOST=xyz"))
		p.mustInit(t, fixtureInit(t, nil))
		got := envPairs(t, p.run(t, obj{"quiet": true, "envprefix": "__OW_"},
			"api_key=abc", "namespace=zzz", "action_name=xxx", "action_version=0.0.1", "activation_id=iii", "deadline=123"))
		want := map[string]string{
			"__OW_API_HOST": "xyz", "__OW_API_KEY": "abc", "__OW_NAMESPACE": "zzz", "__OW_ACTION_NAME": "xxx",
			"__OW_ACTION_VERSION": "0.0.1", "__OW_ACTIVATION_ID": "iii", "__OW_DEADLINE": "123",
		}
		for k, v := range want {
			assert.Equalf(t, v, got[k], "%s: got %q; want %q (env %v)", k, got[k], v, got)
		}
		p.expectLogs(t, 1, "", "")
	})

	t.Run("B5 transaction_id reaches the action", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"quiet": true, "envprefix": "__OW_TRANSACTION_ID"}, "transaction_id=tid-42").
			requireJSON(t, `{"env":"__OW_TRANSACTION_ID=tid-42"}`)
	})

	t.Run("B6 large input is echoed exactly", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		args := `{"arg":"` + strings.Repeat("a", 1048561) + `"}`
		r := p.post(t, "/run", `{"value":`+args+`}`)
		r.requireOK(t)
		assert.Truef(t, string(r.Body) == args+"\n", "body: got %d bytes; want the %d-byte input echoed", len(r.Body), len(args)+1)
	})

	t.Run("B7 a result that is not an object or array gets 502", func(t *testing.T) {
		t.Parallel()
		for _, sw := range []string{"notjson", "scalar"} {
			t.Run(sw, func(t *testing.T) {
				t.Parallel()
				p := startProxy(t)
				p.mustInit(t, fixtureInit(t, nil))
				p.run(t, obj{sw: true, "quiet": true}).requireError(t, http.StatusBadGateway, msgNotObject)
				p.expectLogs(t, 1, "", "")
			})
		}
	})

	t.Run("B8 array result", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"array": true, "quiet": true}).requireJSON(t, `["a","b"]`)
	})

	t.Run("B9 array input reaches the action as an array", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, []string{"a", "b"}).requireJSON(t, `["a","b"]`)
	})

	t.Run("B10 application error is a 200 with the action's body", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		r := p.post(t, "/run", `{"value":{"error":"sorry","quiet":true}}`)
		r.requireOK(t)
		assert.Equal(t, `{"error":"sorry","quiet":true}`+"\n", string(r.Body))
		p.expectLogs(t, 1, "", "")
	})

	t.Run("B11 process exit during the activation gets 400 command exited", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		r := p.run(t, obj{"crash": true})
		require.Equalf(t, http.StatusBadRequest, r.Status, "status: got %s; want 400", r)
		assert.Contains(t, r.errorText(t), msgCommandExited)
		r.requireFramed(t)
		p.expectLogs(t, 1, "", "")
	})

	t.Run("B12 after the process exited run gets 500 and init stays refused (Q4)", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		r := p.run(t, obj{"crash": true})
		require.Equalf(t, http.StatusBadRequest, r.Status, "status: got %s; want 400", r)
		for i := 0; i < 3; i++ {
			p.run(t, obj{}).requireError(t, http.StatusInternalServerError, msgNoAction)
		}
		p.init(t, fixtureInit(t, nil)).requireError(t, http.StatusForbidden, msgInitTwice)
	})

	// B13 is Q2/B13 in TestUpstreamDefects.

	t.Run("B14 the success body is the action's fd 3 line byte for byte", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, initBody(t, bashAction(`echo '{"hello": "Mike"}' >&3`), false, "", nil))
		r := p.run(t, obj{"name": "Mike"})
		r.requireOK(t)
		assert.Equal(t, "{\"hello\": \"Mike\"}\n", string(r.Body))
		r.requireFramed(t)

		// The fixture echoes the value's raw bytes: spacing survives too.
		q := startProxy(t)
		q.mustInit(t, fixtureInit(t, nil))
		r = q.post(t, "/run", `{"value":{"quiet" : true,  "a" :[ 1 , 2 ]}}`)
		r.requireOK(t)
		assert.Equal(t, "{\"quiet\" : true,  \"a\" :[ 1 , 2 ]}\n", string(r.Body))
	})

	t.Run("B15 a pretty-printed request works", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.post(t, "/run", "{\n  \"value\": {\n    \"name\": \"Mike\",\n    \"quiet\": true\n  },\n  \"activation_id\": \"pretty\"\n}\n").
			requireJSON(t, `{"name":"Mike","quiet":true}`)
	})

	t.Run("B16 run responses carry Content-Type and Content-Length", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.run(t, obj{}).requireFramed(t) // 500 before init
		p.mustInit(t, fixtureInit(t, nil))
		for _, v := range []obj{{"quiet": true}, {"array": true, "quiet": true}, {"notjson": true, "quiet": true}, {"error": "app", "quiet": true}, {"crash": true}} {
			r := p.run(t, v)
			r.requireFramed(t)
		}
		p.post(t, "/run", "XXX").requireFramed(t)
	})

	t.Run("B17 a result larger than 1 MB is returned whole", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		args := `{"quiet":true,"arg":"` + strings.Repeat("b", 1_100_000) + `"}`
		r := p.post(t, "/run", `{"value":`+args+`}`)
		r.requireOK(t)
		assert.Greater(t, len(r.Body), 1<<20)
		assert.Truef(t, string(r.Body) == args+"\n", "body: got %d bytes; want the %d-byte result whole", len(r.Body), len(args)+1)
		r.requireFramed(t)
	})

	t.Run("B18 sequential activations each return their own result", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		const n = 10
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("seq-%d", i)
			p.run(t, obj{"id": id}, "activation_id="+id).requireJSON(t, fmt.Sprintf(`{"id":%q}`, id))
		}
		p.expectLogs(t, n, strings.Repeat("hello stdout\n", n), strings.Repeat("hello stderr\n", n))
	})

	t.Run("B19 init env persists and context variables are replaced on every run", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, obj{"B19_INIT": "kept"}))
		first := envObject(t, p.run(t, obj{"quiet": true, "env": true},
			"activation_id=one", "namespace=ns1", "api_key=k1", "deadline="+epochMs(time.Now().Add(time.Minute))))
		assert.Equal(t, "one", first["__OW_ACTIVATION_ID"])
		assert.Equal(t, "ns1", first["__OW_NAMESPACE"])
		assert.Equal(t, "kept", first["B19_INIT"])

		second := envObject(t, p.run(t, obj{"quiet": true, "env": true}, "activation_id=two"))
		assert.Equal(t, "two", second["__OW_ACTIVATION_ID"])
		for _, k := range []string{"__OW_NAMESPACE", "__OW_API_KEY", "__OW_DEADLINE"} {
			v, present := second[k]
			assert.Falsef(t, present, "%s: got %q in the second run; want it unset (absent from that request)", k, v)
		}
		assert.Equalf(t, "kept", second["B19_INIT"], "B19_INIT: got %q; want %q", second["B19_INIT"], "kept")
	})
}

// ---------------------------------------------------------------------------
// C. Process and environment
// ---------------------------------------------------------------------------

func TestProcess(t *testing.T) {
	t.Parallel()

	t.Run("C1 the executable gets the configured environment and nothing else", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("HOME=/root", "SOME_PROXY_VAR=leak"))
		p.mustInit(t, fixtureInit(t, obj{"TEST_HELLO": "WORLD", "TEST_HI": "ALL"}))
		p.run(t, obj{"quiet": true, "envprefix": "TEST_"}).requireJSON(t, `{"env":"TEST_HELLO=WORLD TEST_HI=ALL"}`)
		env := envObject(t, p.run(t, obj{"quiet": true, "env": true}))
		var other []string
		for k := range env {
			if !strings.HasPrefix(k, "__OW_") && k != "TEST_HELLO" && k != "TEST_HI" {
				other = append(other, k)
			}
		}
		sort.Strings(other)
		assert.Emptyf(t, other, "variables beyond the init env and __OW_*: got %q; want none (no PATH, HOME or proxy variables)", other)
	})

	t.Run("C2 the proxy's __OW_ variables reach the action", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("__OW_API_HOST=https://apihost.example", "__OW_CUSTOM=42"))
		p.mustInit(t, fixtureInit(t, nil))
		got := envPairs(t, p.run(t, obj{"quiet": true, "envprefix": "__OW_"}))
		assert.Equal(t, "https://apihost.example", got["__OW_API_HOST"])
		assert.Equal(t, "42", got["__OW_CUSTOM"])
	})

	t.Run("C3 __OW_WAIT_FOR_ACK and __OW_EXECUTION_ENV are exported when configured", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1", "OW_EXECUTION_ENV=my/env"))
		p.mustInit(t, initBody(t, zipB64(t, execEntry(), entry{Name: "exec.env", Body: []byte("my/env")}), true, "", nil))
		got := envObject(t, p.run(t, obj{"quiet": true, "env": true}))
		assert.NotEmptyf(t, got["__OW_WAIT_FOR_ACK"], "__OW_WAIT_FOR_ACK: got %q; want non-empty", got["__OW_WAIT_FOR_ACK"])
		assert.Equal(t, "my/env", got["__OW_EXECUTION_ENV"])
		assert.NotEmptyf(t, got["__OW_PROXY_VERSION"], "__OW_PROXY_VERSION: got %q; want it set (upstream always sets it)", got["__OW_PROXY_VERSION"])

		q := startProxy(t)
		q.mustInit(t, fixtureInit(t, nil))
		got = envObject(t, q.run(t, obj{"quiet": true, "env": true}))
		for _, k := range []string{"__OW_WAIT_FOR_ACK", "__OW_EXECUTION_ENV"} {
			v, present := got[k]
			assert.Falsef(t, present, "%s: got %q; want unset when the proxy has no OW_ variable", k, v)
		}
	})

	t.Run("C4 stdin delivers one JSON line per activation and fd 3 is writable", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, initBody(t, bashAction(`echo "{\"got\":$line}" >&3`), false, "", nil))
		for i := 0; i < 3; i++ {
			id := fmt.Sprintf("c4-%d", i)
			r := p.run(t, obj{"n": i}, "activation_id="+id)
			r.requireOK(t)
			var got struct {
				Got struct {
					Value        obj    `json:"value"`
					ActivationID string `json:"activation_id"`
				} `json:"got"`
			}
			require.NoErrorf(t, json.Unmarshal(r.Body, &got), "body: %q", r.Body)
			assert.Equal(t, obj{"n": float64(i)}, got.Got.Value)
			assert.Equal(t, id, got.Got.ActivationID)
		}
	})

	t.Run("C5 compiling on init", func(t *testing.T) {
		t.Skip("not applicable: Epilogue runs precompiled executables only (source is refused; see A16–A18)")
	})

	t.Run("C6 an ELF exec is run as is even with a compiler configured and sources next to it", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("OW_COMPILER=/bin/false"))
		p.mustInit(t, initBody(t, zipB64(t, execEntry(), entry{Name: "main.go", Body: []byte(goSource)}), true, "", nil))
		p.run(t, obj{"quiet": true}).requireJSON(t, `{"quiet":true}`)
	})

	t.Run("C7 jars", func(t *testing.T) {
		t.Skip("not applicable: OW_SAVE_JAR is for the Java runtime; a zip is always unzipped here")
	})

	t.Run("C8 in-tree symlinks survive extraction", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, initBody(t, zipB64(t,
			execEntry(),
			entry{Name: "data.txt", Body: []byte("linked data")},
			entry{Name: "link.txt", Link: "data.txt"},
			entry{Name: "lib/", Dir: true},
			entry{Name: "lib/inner.txt", Body: []byte("inner")},
			entry{Name: "current", Link: "lib"},
			entry{Name: "lib/up.txt", Link: "../data.txt"},
		), true, "", nil))
		bin := filepath.Join(p.cwd, "action", "1", "bin")
		for link, want := range map[string]string{"link.txt": "linked data", "current/inner.txt": "inner", "lib/up.txt": "linked data"} {
			got, err := os.ReadFile(filepath.Join(bin, link))
			if assert.NoErrorf(t, err, "reading through %s", link) {
				assert.Equal(t, want, string(got))
			}
		}
		for _, link := range []string{"link.txt", "current", "lib/up.txt"} {
			fi, err := os.Lstat(filepath.Join(bin, link))
			if assert.NoError(t, err) {
				assert.Truef(t, fi.Mode()&os.ModeSymlink != 0, "action/1/bin/%s: got mode %s; want a symlink", link, fi.Mode())
			}
		}
		p.run(t, obj{"quiet": true}).requireJSON(t, `{"quiet":true}`)
	})
}

// ---------------------------------------------------------------------------
// D. Logs
// ---------------------------------------------------------------------------

func TestLogs(t *testing.T) {
	t.Parallel()

	t.Run("D1 exactly one sentinel per stream per run, after the action's output", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"x": 1}).requireOK(t)                                                  // success
		p.run(t, obj{"error": "app"}).requireOK(t)                                          // application error
		p.run(t, obj{"notjson": true}).requireError(t, http.StatusBadGateway, msgNotObject) // bad result
		require.Equal(t, http.StatusBadRequest, p.run(t, obj{"crash": true}).Status)        // crash
		s := sentinel + "\n"
		wantOut := "hello stdout\n" + s + "hello stdout\n" + s + "hello stdout\n" + s + s
		wantErr := "hello stderr\n" + s + "hello stderr\n" + s + "hello stderr\n" + s + s
		p.expectSentinels(t, 4)
		assert.Equal(t, wantOut, p.stdout.String())
		assert.Equal(t, wantErr, p.stderr.String())
	})

	t.Run("D2 no sentinel for a successful init or a refused re-init", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.init(t, fixtureInit(t, nil)).requireError(t, http.StatusForbidden, msgInitTwice)
		p.expectSentinels(t, 0)
	})

	t.Run("D3 an init failure with OW_LOG_INIT_ERROR logs the error then one sentinel per stream", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name, body, msg, logged string
		}{
			{"start failure", initBody(t, "not a program\n", false, "", nil), msgStartLogged, msgCommandExited},
			{"extract failure", initBody(t, zipB64(t, entry{Name: "../d3-evil", Body: []byte("x")}), true, "", nil), msgExtractLogged, "d3-evil"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				p := startProxy(t, withEnv("OW_LOG_INIT_ERROR=1"))
				p.init(t, c.body).requireError(t, http.StatusBadGateway, c.msg)
				p.expectSentinels(t, 1)
				assert.Equal(t, sentinel+"\n", p.stdout.String())
				stderr := p.stderr.String()
				i, j := strings.Index(stderr, c.logged), strings.Index(stderr, sentinel)
				assert.Truef(t, i >= 0 && i < j, "stderr: got %q; want %q before the sentinel", stderr, c.logged)
			})
		}
	})

	t.Run("D4 unicode in logs is preserved byte for byte", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"delimiter": "❄ 日本 🎉"}).requireJSON(t, `{"winter":"❄ 日本 🎉 ☃ ❄ 日本 🎉"}`)
		p.expectLogs(t, 1, "❄ 日本 🎉 ☃ ❄ 日本 🎉\n", "")
	})

	t.Run("D5 after removing sentinels the streams hold only the action's output", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("__OW_API_HOST=xyz"))
		p.run(t, obj{}).requireError(t, http.StatusInternalServerError, msgNoAction)
		p.init(t, "XXX")
		p.init(t, `{}`)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"a": 1}).requireOK(t)
		p.get(t, "/nowhere")
		p.get(t, "/run")
		p.post(t, "/run", "XXX")
		p.run(t, obj{"array": true}).requireOK(t)
		p.run(t, obj{"notjson": true})
		p.expectLogs(t, 3, strings.Repeat("hello stdout\n", 3), strings.Repeat("hello stderr\n", 3))
	})
}

// ---------------------------------------------------------------------------
// E. Platform-level behaviour
// ---------------------------------------------------------------------------

func TestPlatform(t *testing.T) {
	t.Parallel()

	t.Run("E1 accepts connections as soon as it can; init retried on refusal succeeds", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, noWait())
		body := fixtureInit(t, nil)
		deadline := time.Now().Add(startTimeout)
		var r *response
		for {
			resp, err := p.client.Post(p.url+"/init", "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
				r = &response{Status: resp.StatusCode}
				break
			}
			// The invoker retries connection-refused every 50 ms until its timeout.
			require.Truef(t, time.Now().Before(deadline), "the proxy did not accept /init within %s: %v; stderr %q", startTimeout, err, p.stderr.String())
			time.Sleep(10 * time.Millisecond)
		}
		require.Equalf(t, http.StatusOK, r.Status, "init: got %d; want 200", r.Status)
		p.run(t, obj{"quiet": true}).requireJSON(t, `{"quiet":true}`)
	})

	t.Run("E1 listens on :8080 by default", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", ":8080")
		if err != nil {
			t.Skipf("port 8080 is not free here: %v", err)
		}
		require.NoError(t, ln.Close())
		p := startProxy(t, defaultListen())
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"quiet": true}).requireJSON(t, `{"quiet":true}`)
	})

	t.Run("E2 keep-alive and a new connection per request both work", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		for _, keepAlive := range []bool{true, false} {
			client := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{DisableKeepAlives: !keepAlive}}
			var reused atomic.Int32
			const n = 20
			for i := 0; i < n; i++ {
				id := fmt.Sprintf("ka-%v-%d", keepAlive, i)
				req, err := http.NewRequest(http.MethodPost, p.url+"/run", strings.NewReader(runBody(t, obj{"id": id, "quiet": true})))
				require.NoError(t, err)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
					GotConn: func(info httptrace.GotConnInfo) {
						if info.Reused {
							reused.Add(1)
						}
					},
				}))
				resp, err := client.Do(req)
				require.NoError(t, err)
				b, err := readAll(resp)
				require.NoError(t, err)
				require.Equalf(t, http.StatusOK, resp.StatusCode, "keep-alive=%v run %d: got %d %q", keepAlive, i, resp.StatusCode, b)
				require.JSONEq(t, fmt.Sprintf(`{"id":%q,"quiet":true}`, id), string(b))
			}
			client.CloseIdleConnections()
			if keepAlive {
				assert.Equalf(t, int32(n-1), reused.Load(), "keep-alive: got %d reused connections; want %d", reused.Load(), n-1)
			} else {
				assert.Equalf(t, int32(0), reused.Load(), "no keep-alive: got %d reused connections; want 0", reused.Load())
			}
		}
	})

	t.Run("E3 two overlapping runs do not corrupt each other", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		overlappingRuns(t, p, 2, 300)
	})

	t.Run("E4 the proxy imposes no short timeout on init or run", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		r := p.run(t, obj{"sleep_ms": 2500, "quiet": true}, "deadline="+epochMs(time.Now().Add(time.Minute)))
		r.requireJSON(t, `{"sleep_ms":2500,"quiet":true}`)
		assert.GreaterOrEqual(t, r.Elapsed, 2500*time.Millisecond)

		q := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1"))
		slow := "#!/bin/bash\n/bin/sleep 2\necho '{\"ok\":true}' >&3\nwhile IFS= read -r line; do echo '{\"slow\":true}' >&3; done\n"
		r = q.init(t, initBody(t, slow, false, "", nil))
		r.requireOK(t)
		assert.GreaterOrEqual(t, r.Elapsed, 2*time.Second)
		q.run(t, obj{}).requireJSON(t, `{"slow":true}`)
	})
}

// readAll reads and closes resp's body.
func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// overlappingRuns fires n /run requests at once, each echoing a unique id
// after sleepMs, and checks that every answer is that request's own result
// or a clear non-200 JSON error, never another request's result; then that
// a follow-up /run still works.
func overlappingRuns(t *testing.T, p *proxy, n, sleepMs int) {
	t.Helper()
	type outcome struct {
		id string
		r  *response
	}
	out := make([]outcome, n)
	client := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("req%d", i)
		body := runBody(t, obj{"id": id, "sleep_ms": sleepMs, "quiet": true}, "activation_id="+id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, p.url+"/run", strings.NewReader(body))
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				out[i] = outcome{id, &response{Status: -1, Body: []byte(err.Error()), Elapsed: time.Since(t0)}}
				return
			}
			b, _ := readAll(resp)
			out[i] = outcome{id, &response{Status: resp.StatusCode, Body: b, Header: resp.Header, ContentLength: resp.ContentLength, Elapsed: time.Since(t0)}}
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, o := range out {
		switch {
		case o.r.Status == -1:
			t.Errorf("%s: got no answer (%s after %s); want its own result or a non-200 error", o.id, o.r.Body, o.r.Elapsed)
		case o.r.Status == http.StatusOK:
			var got struct {
				ID string `json:"id"`
			}
			if assert.NoErrorf(t, json.Unmarshal(o.r.Body, &got), "%s: body %q", o.id, o.r.Body) {
				assert.Equalf(t, o.id, got.ID, "%s: got the result %q; want its own", o.id, o.r.Body)
			}
			ok++
		default:
			var e struct {
				Error string `json:"error"`
			}
			if assert.NoErrorf(t, json.Unmarshal(o.r.Body, &e), "%s: got %d with non-JSON body %q", o.id, o.r.Status, o.r.Body) {
				assert.NotEmptyf(t, e.Error, "%s: got %d %q; want a clear error", o.id, o.r.Status, o.r.Body)
			}
		}
	}
	assert.GreaterOrEqualf(t, ok, 1, "got no successful run out of %d overlapping ones", n)
	p.run(t, obj{"id": "follow-up", "quiet": true}, "activation_id=follow-up").requireJSON(t, `{"id":"follow-up","quiet":true}`)
}

// ---------------------------------------------------------------------------
// Q. Upstream defects a replacement must fix (contract section 5)
// ---------------------------------------------------------------------------

func TestUpstreamDefects(t *testing.T) {
	t.Parallel()

	t.Run("Q1/A23 long error bodies carry Content-Length on the wire", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		long := "../" + strings.Repeat("q", 5000)
		body := initBody(t, zipB64(t, entry{Name: long, Body: []byte("x")}), true, "", nil)
		head, b := rawExchange(t, p.addr, rawPost(p.addr, "/init", body))
		require.Containsf(t, head[0], " 502 ", "status line: got %q; want 502", head[0])
		require.Greaterf(t, len(b), 2048, "precondition: the error body must exceed 2 KB; got %d bytes: %q", len(b), b)
		requireRawFramed(t, head, b)

		// A long unknown path gives a long 404 body too.
		path := "/" + strings.Repeat("n", 5000)
		head, b = rawExchange(t, p.addr, "GET "+path+" HTTP/1.1\r\nHost: "+p.addr+"\r\nConnection: close\r\n\r\n")
		require.Containsf(t, head[0], " 404 ", "status line: got %q; want 404", head[0])
		requireRawFramed(t, head, b)
	})

	t.Run("Q2/B13 process died between activations: every later run answers non-200, none hangs", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, obj{"TESTACTION_EXIT_AFTER_MS": "200"}))
		// The action exits 200 ms after it starts; the proxy has reaped it
		// once it has no child left.
		require.Truef(t, waitFor(logSettle, func() bool { return !hasChildren(p.cmd.Process.Pid) }),
			"the action process (exiting 200 ms after its start) still runs after %s", logSettle)
		client := &http.Client{Timeout: requestTimeout}
		for i := 0; i < 3; i++ {
			start := time.Now()
			resp, err := client.Post(p.url+"/run", "application/json", strings.NewReader(runBody(t, obj{"quiet": true})))
			require.NoErrorf(t, err, "run %d after the process died: got no answer after %s; want non-200 (upstream hangs here)", i+1, time.Since(start))
			b, _ := readAll(resp)
			r := &response{Status: resp.StatusCode, Body: b, Header: resp.Header, ContentLength: resp.ContentLength}
			require.NotEqualf(t, http.StatusOK, r.Status, "run %d after the process died: got %s; want non-200", i+1, r)
			r.errorText(t)
			r.requireFramed(t)
			if i == 0 {
				r.requireError(t, http.StatusInternalServerError, msgCommandExited)
			}
		}
	})

	t.Run("Q3/E3 eight overlapping runs each get their own result or a clear error", func(t *testing.T) {
		t.Parallel()
		for _, sleepMs := range []int{50, 0} {
			t.Run(fmt.Sprintf("sleep %d ms", sleepMs), func(t *testing.T) {
				t.Parallel()
				p := startProxy(t)
				p.mustInit(t, fixtureInit(t, nil))
				overlappingRuns(t, p, 8, sleepMs)
			})
		}
	})

	t.Run("Q5 a proxy env value containing = is kept whole", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("__OW_X=a=b=c"))
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"quiet": true, "envprefix": "__OW_X="}).requireJSON(t, `{"env":"__OW_X=a=b=c"}`)
	})

	t.Run("Q6 archives that reach outside the action directory are refused", func(t *testing.T) {
		t.Parallel()
		exe := entry{Name: "exec", Body: []byte("#!/bin/bash\n"), Mode: 0o755}
		cases := []struct {
			name    string
			code    func(root string) string
			leftout string // a name prefix that must not appear anywhere under root
		}{
			{"zip entry ../evil", func(string) string {
				return zipB64(t, exe, entry{Name: "../evil-1", Body: []byte("x")})
			}, "evil-1"},
			{"zip entry climbing out of the working directory", func(string) string {
				return zipB64(t, exe, entry{Name: "../../../../../../../evil-2", Body: []byte("x")})
			}, "evil-2"},
			{"zip entry with an absolute path", func(root string) string {
				return zipB64(t, exe, entry{Name: filepath.Join(root, "evil-3"), Body: []byte("x")})
			}, "evil-3"},
			{"zip symlink pointing out of the tree", func(string) string {
				return zipB64(t, exe, entry{Name: "escape", Link: "../../../../../../.."})
			}, ""},
			{"zip absolute symlink then a file through it", func(root string) string {
				return zipB64(t, exe, entry{Name: "out", Link: root}, entry{Name: "out/evil-5", Body: []byte("x")})
			}, "evil-5"},
			{"tar.gz entry ../evil", func(string) string {
				return tarGzB64(t, exe, entry{Name: "../evil-6", Body: []byte("x")})
			}, "evil-6"},
			{"tar.gz symlink pointing out of the tree", func(root string) string {
				return tarGzB64(t, exe, entry{Name: "escape", Link: root})
			}, ""},
			{"tar.gz hard link to a file outside", func(root string) string {
				return tarGzB64(t, exe, entry{Name: "evil-8", Hard: filepath.Join(root, "secret")})
			}, "evil-8"},
			{"zip bomb: 600 MiB of zeros", func(string) string {
				return bombZipB64(t, "exec", 600<<20, false)
			}, ""},
			{"zip bomb whose header claims 1 KiB", func(string) string {
				return bombZipB64(t, "exec", 600<<20, true)
			}, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				root := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(root, "secret"), []byte("secret"), 0o600))
				cwd := filepath.Join(root, "w1", "w2", "w3", "work")
				require.NoError(t, os.MkdirAll(cwd, 0o755))
				p := startProxy(t, withCwd(cwd))
				r := p.init(t, initBody(t, c.code(root), true, "", nil))
				require.Equalf(t, http.StatusBadGateway, r.Status, "status: got %s; want 502", r)
				r.errorText(t)
				r.requireFramed(t)
				if c.leftout != "" {
					assert.Emptyf(t, filesNamed(t, root, c.leftout), "files named %s*: want none anywhere", c.leftout)
				}
				assert.Lessf(t, treeSize(root), int64(16<<20), "bytes left on disk under the test directory: got %d", treeSize(root))
				secret, err := os.ReadFile(filepath.Join(root, "secret"))
				require.NoError(t, err)
				assert.Equal(t, "secret", string(secret))
				// The refused code never runs, and a good init still works.
				p.run(t, obj{}).requireError(t, http.StatusInternalServerError, msgNoAction)
				p.mustInit(t, fixtureInit(t, nil))
			})
		}
	})

	t.Run("Q7 an init the client abandons does not block the next init", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1"))
		short := &http.Client{Timeout: 500 * time.Millisecond}
		resp, err := short.Post(p.url+"/init", "application/json", strings.NewReader(fixtureInit(t, obj{"TESTACTION_NO_ACK": "1"})))
		if err == nil {
			b, _ := readAll(resp)
			require.NotEqualf(t, http.StatusOK, resp.StatusCode, "an action that never acks: got %d %q; want no 200", resp.StatusCode, b)
		}
		client := &http.Client{Timeout: requestTimeout}
		start := time.Now()
		resp, err = client.Post(p.url+"/init", "application/json", strings.NewReader(fixtureInit(t, nil)))
		require.NoErrorf(t, err, "init after an abandoned one: no answer after %s", time.Since(start))
		b, _ := readAll(resp)
		assert.Equalf(t, http.StatusOK, resp.StatusCode, "init after an abandoned one: got %d %q; want 200", resp.StatusCode, b)
	})

	t.Run("Q9 unknown path gets 404 and a wrong method 405, both JSON", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		for _, c := range []struct {
			method, path string
			status       int
		}{
			{http.MethodGet, "/", http.StatusNotFound},
			{http.MethodPost, "/nowhere", http.StatusNotFound},
			{http.MethodGet, "/run", http.StatusMethodNotAllowed},
			{http.MethodGet, "/init", http.StatusMethodNotAllowed},
			{http.MethodPut, "/run", http.StatusMethodNotAllowed},
			{http.MethodPost, completion.StatusPath, http.StatusMethodNotAllowed},
		} {
			r := p.do(t, c.method, c.path, "")
			assert.Equalf(t, c.status, r.Status, "%s %s: got %s; want %d", c.method, c.path, r, c.status)
			assert.NotEmpty(t, r.errorText(t))
			r.requireFramed(t)
		}
	})

	t.Run("Q10 a run body that is not JSON gets a clear non-200 JSON error", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		for _, body := range []string{"XXX", `{"value":`, `["not","an","object"]`} {
			r := p.post(t, "/run", body)
			assert.NotEqualf(t, http.StatusOK, r.Status, "body %q: got %s; want non-200", body, r)
			assert.NotEmpty(t, r.errorText(t))
			r.requireFramed(t)
		}
		// Nothing reached the action, so it is still in step.
		p.run(t, obj{"id": "after", "quiet": true}).requireJSON(t, `{"id":"after","quiet":true}`)
	})

	t.Run("Q13 output after the response is tagged with its activation", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		p.mustInit(t, fixtureInit(t, nil))
		p.run(t, obj{"bg": 2, "quiet": true}, "activation_id=act-A").requireOK(t)
		tick2 := "[activation act-A] bg tick 2\n"
		ok := waitFor(logSettle, func() bool { return strings.Contains(p.stdout.String(), tick2) })
		require.Truef(t, ok, "stdout: got %q; want it to contain %q", p.stdout.String(), tick2)
		p.run(t, obj{"id": "B"}, "activation_id=act-B").requireOK(t)
		p.expectSentinels(t, 2)
		s := sentinel + "\n"
		want := s + "[activation act-A] bg tick 1\n" + tick2 + "hello stdout\n" + s
		assert.Equal(t, want, p.stdout.String())
	})

	t.Run("Q14 a stray fd 3 line never shifts later results", func(t *testing.T) {
		t.Parallel()
		for _, mode := range []struct {
			name string
			opts []option
		}{
			{"upstream protocol", nil},
			{"extended protocol", []option{withEnv("OW_WAIT_FOR_ACK=1")}},
		} {
			t.Run(mode.name, func(t *testing.T) {
				t.Parallel()
				p := startProxy(t, mode.opts...)
				p.mustInit(t, fixtureInit(t, nil))
				p.run(t, obj{"id": "stray", "stray": true, "quiet": true}, "activation_id=stray").requireJSON(t, `{"id":"stray","stray":true,"quiet":true}`)
				time.Sleep(300 * time.Millisecond) // the scenario is about time: the stray line comes 100 ms later
				for i := 0; i < 3; i++ {
					id := fmt.Sprintf("after-%d", i)
					p.run(t, obj{"id": id, "quiet": true}, "activation_id="+id).requireJSON(t, fmt.Sprintf(`{"id":%q,"quiet":true}`, id))
				}
				p.expectLogs(t, 4, "", "")
			})
		}
	})

	t.Run("Q16 a failed start leaves no action directory behind", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name string
			env  []string
			body string
		}{
			{"not executable", nil, initBody(t, "not a program\n", false, "", nil)},
			{"exec.env mismatch", []string{"OW_EXECUTION_ENV=want/env"}, initBody(t, zipB64(t, execEntry(), entry{Name: "exec.env", Body: []byte("other/env")}), true, "", nil)},
			{"exec.env missing", []string{"OW_EXECUTION_ENV=want/env"}, fixtureInit(t, nil)},
			{"exit before the ack", []string{"OW_WAIT_FOR_ACK=1"}, fixtureInit(t, obj{"TESTACTION_EXIT_AT_START": "1"})},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				p := startProxy(t, withEnv(c.env...))
				r := p.init(t, c.body)
				require.Equalf(t, http.StatusBadGateway, r.Status, "status: got %s; want 502", r)
				entries, _ := os.ReadDir(filepath.Join(p.cwd, "action"))
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				assert.Emptyf(t, names, "action/ after a failed init: got %q; want nothing", names)
			})
		}
	})

	t.Run("Q18 SIGTERM stops the proxy and the action's whole process tree", func(t *testing.T) {
		t.Parallel()
		pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
		p := startProxy(t)
		script := "#!/bin/bash\n/bin/sleep 1000 </dev/null >/dev/null 2>&1 3>&- &\necho $! > \"$PIDFILE\"\n" +
			"while IFS= read -r line; do echo '{\"alive\":true}' >&3; done\n"
		p.mustInit(t, initBody(t, script, false, "", obj{"PIDFILE": pidFile}))
		p.run(t, obj{}).requireJSON(t, `{"alive":true}`)
		var pid int
		require.Truef(t, waitFor(logSettle, func() bool {
			b, err := os.ReadFile(pidFile)
			if err != nil {
				return false
			}
			_, err = fmt.Sscan(string(b), &pid)
			return err == nil && pid > 0
		}), "the action did not write its grandchild's pid to %s", pidFile)
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
		require.Truef(t, processAlive(pid), "grandchild %d is not running before the proxy stops", pid)

		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case <-p.exited:
		case <-time.After(startTimeout):
			t.Fatalf("the proxy did not exit within %s of SIGTERM; stderr %q", startTimeout, p.stderr.String())
		}
		assert.Truef(t, waitFor(logSettle, func() bool { return !processAlive(pid) }),
			"grandchild %d (/bin/sleep started by the action) still runs after the proxy stopped", pid)
	})

	t.Run("Q21 a corrupt zip entry fails the init", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t)
		zb := zipBytes(t, false, execEntry(), entry{Name: "data.txt", Body: []byte("intact data")})
		// Corrupt data.txt's stored bytes: its CRC no longer matches.
		i := strings.LastIndex(string(zb), "intact data")
		require.Greater(t, i, 0)
		zb[i] = 'X'
		r := p.init(t, initBody(t, base64.StdEncoding.EncodeToString(zb), true, "", nil))
		require.Equalf(t, http.StatusBadGateway, r.Status, "status: got %s; want 502 (upstream only logged per-file errors)", r)
		r.errorText(t)
	})

	t.Run("Q23 deadline accepted as a string or a number", func(t *testing.T) {
		t.Parallel()
		p := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1"))
		p.mustInit(t, fixtureInit(t, nil))
		for i, quoted := range []bool{true, false} {
			id := fmt.Sprintf("q23-%d", i)
			dl := epochMs(time.Now().Add(300 * time.Millisecond))
			if quoted {
				dl = `"` + dl + `"`
			}
			// The work outlasts the test: only the deadline ends it.
			r := p.post(t, "/run", fmt.Sprintf(`{"value":{"linger_ms":%d,"quiet":true},"activation_id":%q,"deadline":%s}`, forever, id, dl))
			r.requireOK(t)
			rec := awaitActivation(t, p, id, awaitBound)
			assert.Equalf(t, "expired", rec.Phase, "deadline %s: got phase %q; want expired", dl, rec.Phase)
		}
	})
}
