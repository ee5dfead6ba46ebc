package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/liveview"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// pageBound bounds each wait for the page to show something: far above a
// busy machine's delays (the issue asks for 60 s), never waited out when
// the test passes.
const pageBound = 60 * time.Second

// browserBound bounds the whole browser session.
const browserBound = 10 * time.Minute

// screenshotPath is where the test leaves its picture of the live view,
// under the repository's out/ (docs/liveview.png is a copy of one).
var screenshotPath = filepath.Join("..", "..", "out", "liveview.png")

// TestLiveViewInChromium opens the live view in a headless Chromium while
// a workload runs on a real standalone: it waits until the page shows an
// activation lingering (its work held at a gate), opens the gate, waits
// until the page shows it done and its container paused, and saves a
// screenshot under out/. A second activation's failed post-response work
// must be highlighted with its error.
func TestLiveViewInChromium(t *testing.T) {
	chromium := testenv.RequireChromium(t)
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	g := testenv.NewGate(t)
	s := startServer(t, standalone.BackendProcess, standalone.Config{Pool: pool.Config{
		Policy: reclaim.Epilogue, PauseGrace: pool.Immediately, Prewarm: 0,
	}})
	r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/report?overwrite=false",
		`{"name":"report","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go"}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)

	// --no-sandbox: Chromium's sandbox cannot start as root (CI's and this
	// machine's user); the browser loads nothing but the test's own page.
	// The whole browser session is bounded; the first Run starts the
	// browser and must not carry a shorter timeout (it would end the
	// browser with it), so it runs on that bound alone.
	session, endSession := context.WithTimeout(context.Background(), browserBound)
	defer endSession()
	alloc, cancelAlloc := chromedp.NewExecAllocator(session, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 720))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(browser), "start %s", chromium)
	// show waits until the page shows sel, at most pageBound.
	show := func(what string, sel chromedp.CSS) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, pageBound)
		defer cancel()
		require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(sel)), "the page did not show %s (%s) within %s", what, sel, pageBound)
	}
	// textOf waits until the page shows text in sel and returns it, at
	// most pageBound. It finds and reads the element in one evaluation:
	// the page re-renders every 500 ms, and chromedp.Text's two round
	// trips (find the node, then read it) can read a node the render has
	// just detached, which reads as "".
	textOf := func(what string, sel chromedp.CSS) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, pageBound)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.PollFunction[string](
			`(sel) => document.querySelector(sel)?.textContent`,
			chromedp.WithPollingArgs(string(sel)), chromedp.WithPollingTimeout(0)))
		require.NoError(t, err, "the page did not show %s (%s) within %s", what, sel, pageBound)
		return v
	}
	ctx, cancel := context.WithTimeout(browser, pageBound)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url+liveview.ViewPath)))
	cancel()
	show("its stream connected", `#connection[data-connection="live"]`)

	r = s.wsk(t, "POST", "/api/v1/namespaces/_/actions/report?blocking=true",
		fmt.Sprintf(`{"quiet":true,"linger_ms":1,"gate":%q}`, g.URL("work")))
	require.Equal(t, http.StatusOK, r.status, r.body)
	held := decodeMap(t, r.body)["activationId"].(string)
	row := func(id, more string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`.act[data-activation=%q]%s`, id, more))
	}

	show("the activation lingering", row(held, `[data-outcome="lingering"]`))
	g.Mark("page: lingering")

	// While it lingers its container takes nothing new: failing
	// post-response work starts a second one, and is highlighted with its
	// error.
	invoke := func(params string) string {
		t.Helper()
		r := s.wsk(t, "POST", "/api/v1/namespaces/_/actions/report?blocking=true", params)
		require.Equal(t, http.StatusOK, r.status, r.body)
		return decodeMap(t, r.body)["activationId"].(string)
	}
	failed := invoke(`{"quiet":true,"linger_ms":1,"fail_after":true}`)
	show("the failed work highlighted", row(failed, `.failed[data-outcome="failed"]`))
	assert.Contains(t, textOf("its errors", row(failed, " .errors")), "post-response write failed")
	show("the first activation still lingering", row(held, `[data-outcome="lingering"]`))

	g.Open("work")
	show("the activation done", row(held, `[data-outcome="done"]`))
	g.Mark("page: done")
	show("its container paused", row(held, `[data-reclaim="paused"]`))
	g.Mark("page: paused")
	assert.Equal(t, []string{"page: lingering", testenv.GateOpen + "work", "page: done", "page: paused"},
		filterOut(g.Events(), testenv.GateArrive+"work"), "lingering, then the gate opened, then done, then paused")

	// A warm container is resumed for the next one.
	again := invoke(`{"quiet":true}`)
	show("the next activation on a warm container", row(again, `[data-outcome="done"]`))

	ctx, cancel = context.WithTimeout(browser, pageBound)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	cancel()
	require.NoError(t, err, "take a screenshot")
	require.NoError(t, os.MkdirAll(filepath.Dir(screenshotPath), 0o755))
	require.NoError(t, os.WriteFile(screenshotPath, png, 0o644))
	t.Logf("the live view: %s", screenshotPath)
}

// filterOut returns events without drop.
func filterOut(events []string, drop string) []string {
	var out []string
	for _, e := range events {
		if e != drop {
			out = append(out, e)
		}
	}
	return out
}

// TestLiveViewDoesNotHoldTheShutdown: a page left open does not keep the
// server from stopping. The shutdown timeout is set far beyond the test's
// wait for the stop, so the stop can only end in time if the server ended
// the page's stream rather than waiting for it.
func TestLiveViewDoesNotHoldTheShutdown(t *testing.T) {
	s := startServer(t, standalone.BackendProcess, standalone.Config{ShutdownTimeout: time.Hour})
	resp, err := s.hc.Get(s.url + liveview.EventsPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "event: "+liveview.EventTimeline+"\n", first, "the stream is open")

	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		assert.NoError(t, err, "standalone.Run")
	case <-time.After(serverBound):
		t.Fatalf("the server did not stop within %s with a live view open", serverBound)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	assert.NoError(t, err, "the stream ended cleanly")
}
