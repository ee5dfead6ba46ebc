package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// TestStandaloneFeed replays `wsk trigger create --feed` and `wsk trigger
// delete` against a real standalone with examples/tickfeed as the feed: the
// CLI creates the trigger with its feed annotation, then invokes the feed
// with the lifecycle parameters, and the feed fires the trigger through the
// API after answering, as tracked work. Every fire's rule activation runs,
// and the feed's activation is done only after its last fire; a schedule is
// ended by deleting its trigger. On the Docker backend the feed reaches the
// API at the network's gateway, where the server listens for containers.
func TestStandaloneFeed(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			replayFeed(t, startServer(t, be, standalone.Config{}))
		})
	}
}

func replayFeed(t *testing.T, s *server) {
	const (
		actions     = "/api/v1/namespaces/_/actions"
		triggers    = "/api/v1/namespaces/_/triggers"
		activations = "/api/v1/namespaces/_/activations"
	)
	for name, dir := range map[string]string{"tickfeed": "examples/tickfeed", "hello": "examples/hello"} {
		zip := base64.StdEncoding.EncodeToString(actionZip(t, dir))
		r := s.wsk(t, "PUT", actions+"/"+name+"?overwrite=false",
			`{"namespace":"_","name":"`+name+`","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go"},"limits":{"timeout":60000}}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
	}

	// createWithFeed is `wsk trigger create NAME --feed tickfeed -p every_ms EVERY -p times TIMES`
	// with a rule on-NAME → hello: it answers the feed's activation id.
	createWithFeed := func(t *testing.T, name, every, times string) string {
		r := s.wsk(t, "PUT", triggers+"/"+name+"?overwrite=false",
			`{"name":"`+name+`","annotations":[{"key":"feed","value":"/_/tickfeed"}]}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Contains(t, decodeMap(t, r.body)["annotations"], map[string]any{"key": "feed", "value": "/_/tickfeed"})
		r = s.wsk(t, "PUT", "/api/v1/namespaces/_/rules/on-"+name+"?overwrite=false",
			`{"name":"on-`+name+`","status":"","trigger":"/_/`+name+`","action":"/_/hello"}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		r = s.wsk(t, "POST", actions+"/tickfeed?blocking=true&result=false",
			`{"every_ms":`+every+`,"times":`+times+`,"lifecycleEvent":"CREATE","triggerName":"/_/`+name+`","authKey":"`+guestAuth+`"}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		var act entity.Activation
		require.NoError(t, json.Unmarshal([]byte(r.body), &act))
		assert.JSONEq(t, `{"trigger":"/_/`+name+`","lifecycleEvent":"CREATE","times":`+times+`,"every_ms":`+every+`}`,
			string(act.Response.Result), "the feed answers before it fires")
		return act.ActivationID
	}
	// fires lists the trigger's activations and checks each: its result is
	// the fire's payload, and the one rule activation it names ran hello.
	fires := func(t *testing.T, name string) []entity.Activation {
		r := s.wsk(t, "GET", activations+"?name="+name+"&docs=true&limit=200", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		var recs []entity.Activation
		require.NoError(t, json.Unmarshal([]byte(r.body), &recs))
		for _, rec := range recs {
			require.Len(t, rec.Logs, 1, "one rule: %q", rec.Logs)
			var line struct {
				Success      bool
				ActivationID string
			}
			require.NoError(t, json.Unmarshal([]byte(rec.Logs[0]), &line))
			require.True(t, line.Success, rec.Logs[0])
			ruleAct := s.finalRecord(t, line.ActivationID)
			assert.Equal(t, "hello", ruleAct.Name)
			assert.True(t, ruleAct.Response.Success, "%s", ruleAct.Response.Result)
		}
		return recs
	}

	t.Run("a schedule fires every tick, then the feed is done", func(t *testing.T) {
		id := createWithFeed(t, "ticks", "20", "3")
		feed := s.finalRecord(t, id)
		c, _ := feed.Annotations.GetString(entity.AnnotationCompletion)
		assert.Equal(t, "done", c, "%s", feed.Annotations)
		// The feed's work ended after its last fire had been accepted, so
		// every fire is recorded by now.
		recs := fires(t, "ticks")
		var ticks []string
		for _, rec := range recs {
			ticks = append(ticks, string(rec.Response.Result))
		}
		assert.ElementsMatch(t, []string{`{"of":3,"tick":1}`, `{"of":3,"tick":2}`, `{"of":3,"tick":3}`}, ticks)

		// wsk trigger get ticks: the CLI reads the feed annotation and asks the feed (READ).
		r := s.wsk(t, "GET", triggers+"/ticks", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Contains(t, decodeMap(t, r.body)["annotations"], map[string]any{"key": "feed", "value": "/_/tickfeed"})
		r = s.wsk(t, "POST", actions+"/tickfeed?blocking=true&result=true",
			`{"lifecycleEvent":"READ","triggerName":"/_/ticks","authKey":"`+guestAuth+`"}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.JSONEq(t, `{"trigger":"/_/ticks","lifecycleEvent":"READ"}`, r.body)
	})

	t.Run("deleting the trigger ends its schedule", func(t *testing.T) {
		id := createWithFeed(t, "forever", "200", "10000")
		require.Eventually(t, func() bool {
			r := s.wsk(t, "GET", activations+"?name=forever&count=true", "")
			var n struct{ Activations int }
			return r.status == http.StatusOK && json.Unmarshal([]byte(r.body), &n) == nil && n.Activations > 0
		}, recordBound, pollGap, "the feed never fired")
		fires(t, "forever")
		// wsk trigger delete forever: GET, the feed's DELETE, then the trigger's.
		r := s.wsk(t, "GET", triggers+"/forever", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		r = s.wsk(t, "POST", actions+"/tickfeed?blocking=true&result=false",
			`{"lifecycleEvent":"DELETE","triggerName":"/_/forever","authKey":"`+guestAuth+`"}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		r = s.wsk(t, "DELETE", triggers+"/forever", "")
		require.Equal(t, http.StatusOK, r.status, r.body)

		feed := s.finalRecord(t, id)
		c, _ := feed.Annotations.GetString(entity.AnnotationCompletion)
		assert.Equal(t, "done", c, "a fire answered 404 and the schedule ended without error: %s", feed.Annotations)
		deleted := slices.ContainsFunc(feed.Logs, func(l string) bool { return strings.Contains(l, "the trigger was deleted") })
		assert.True(t, deleted, "the schedule ended at a 404, not at its last tick: %q", feed.Logs)
	})
}
