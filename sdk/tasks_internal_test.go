package sdk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/epilogue-dev/epilogue/durable"
)

func TestResumeRef(t *testing.T) {
	for _, tc := range []struct {
		params string
		isTask bool
		id     string
		bad    bool
	}{
		{`{"x":1}`, false, "", false},
		{`[1,2]`, false, "", false},
		{`{"__epilogue_task":{"id":"1-0","recoveryOf":"a"}}`, true, "1-0", false},
		{`{"__epilogue_task":{"recoveryOf":"a"}}`, true, "", true},
		{`{"__epilogue_task":"1-0"}`, true, "", true},
		{`{"x":"__epilogue_task"}`, false, "", false},
		{`{"\u005f_epilogue_task":{"id":"1-0"}}`, false, "", false},
	} {
		r, isTask, err := resumeRef(json.RawMessage(tc.params))
		assert.Equal(t, tc.isTask, isTask, tc.params)
		assert.Equal(t, tc.bad, err != nil, tc.params)
		if !tc.bad {
			assert.Equal(t, tc.id, r.ID, tc.params)
		}
	}
}

// FuzzResumeRef: a caller's parameters, whatever they hold, never panic the
// check for the reserved task parameter, and a task reference it accepts
// names an intent.
func FuzzResumeRef(f *testing.F) {
	f.Add(`{"__epilogue_task":{"id":"1-0","continuationOf":"a"}}`)
	f.Add(`{"__epilogue_task":null}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, params string) {
		r, isTask, err := resumeRef(json.RawMessage(params))
		if isTask && err == nil && r.ID == "" {
			t.Fatalf("accepted a task reference without an id: %s", params)
		}
		if isTask && !strings.Contains(params, `"`+durable.TaskParam+`"`) {
			t.Fatalf("took parameters without the key's plain text for a task: %s", params)
		}
	})
}
