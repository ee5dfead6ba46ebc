package conformance

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/epilogue-dev/epilogue/completion"
)

// TestBusyPollChangesNoAnswer: whether the proxy polls fd 3 for answers
// or sleeps until they come, every activation gets its own answer, in
// both protocols, across fast answers (which turn the polling on), one
// slower than the budget (polling gives up and sleeps) and, extended,
// work lingering past the response (its done frame comes while nothing
// is due).
func TestBusyPollChangesNoAnswer(t *testing.T) {
	t.Parallel()
	for _, protocol := range []struct {
		name     string
		env      []string
		extended bool
	}{
		{name: "upstream protocol"},
		{name: "extended protocol", env: []string{"OW_WAIT_FOR_ACK=1"}, extended: true},
	} {
		for _, budget := range []string{"0", "10ms"} {
			t.Run(protocol.name+", "+completion.EnvBusyPoll+"="+budget, func(t *testing.T) {
				t.Parallel()
				p := startProxy(t, withEnv(append(protocol.env, completion.EnvBusyPoll+"="+budget)...))
				p.mustInit(t, fixtureInit(t, nil))
				runs := 0
				echo := func(value obj) {
					t.Helper()
					runs++
					id := fmt.Sprintf("a-%d", runs)
					value["id"] = id
					value["quiet"] = true
					want := fmt.Sprintf(`{"id":%q,"quiet":true}`, id)
					if ms, ok := value["sleep_ms"]; ok {
						want = fmt.Sprintf(`{"id":%q,"quiet":true,"sleep_ms":%d}`, id, ms)
					}
					p.run(t, value, "activation_id="+id).requireJSON(t, want)
				}
				for range 12 {
					echo(obj{})
				}
				echo(obj{"sleep_ms": 30})
				for range 12 {
					echo(obj{})
				}
				wantStdout := ""
				if protocol.extended {
					runs++
					p.run(t, obj{"linger_ms": 50, "quiet": true}, "activation_id=lingers").requireJSON(t, `{"accepted":true,"linger_ms":50}`)
					assert.Equal(t, "done", awaitActivation(t, p, "lingers", awaitBound).Phase)
					echo(obj{})
					wantStdout = "[activation lingers] lingering lingers\n"
				}
				p.expectLogs(t, runs, wantStdout, "")
			})
		}
	}
}
