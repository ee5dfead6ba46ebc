package entity

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTriggerAndRulePut(t *testing.T) {
	put, err := DecodeTriggerPut([]byte(`{"namespace":"_","name":"t","parameters":[{"key":"k","value":"v"}]}`))
	require.NoError(t, err)
	tr := put.Apply(Trigger{Namespace: "guest", Name: "t", Rules: map[string]RuleLink{"x": {}}})
	assert.Equal(t, KeyValues{{Key: "k", Value: []byte(`"v"`)}}, tr.Parameters)
	assert.Nil(t, tr.Rules, "rules are never stored with the trigger")

	feed, err := DecodeTriggerPut([]byte(`{"annotations":[{"key":"feed","value":"/whisk.system/alarms/alarm"}]}`))
	require.NoError(t, err, "a feed's annotation is stored, as the controller does")
	assert.Equal(t, KeyValues{{Key: "feed", Value: []byte(`"/whisk.system/alarms/alarm"`)}}, *feed.Annotations)

	for _, body := range []string{`{"parameters":`, `{"version":"x"}`} {
		_, err := DecodeTriggerPut([]byte(body))
		assert.ErrorIs(t, err, ErrInvalid, body)
	}

	rp, err := DecodeRulePut([]byte(`{"name":"r","status":"","trigger":"/_/t","action":"/_/pkg/a"}`))
	require.NoError(t, err)
	assert.Equal(t, EntityRef{Name: "t", Path: "_"}, rp.Trigger.Ref())
	assert.Equal(t, EntityRef{Name: "a", Path: "_/pkg"}, rp.Action.Ref())
	for _, bad := range []string{`{"action":"/_/a"}`, `{"trigger":"/_/t"}`, `{"trigger":"/_/p/t","action":"/_/a"}`, `[]`, `{"trigger":1}`} {
		_, err := DecodeRulePut([]byte(bad))
		assert.ErrorIs(t, err, ErrInvalid, bad)
	}
}

// FuzzDecodeRulePut: any body decodes to names that print back as parsed,
// or fails with an entity error.
func FuzzDecodeRulePut(f *testing.F) {
	for _, s := range []string{`{"name":"r","status":"","trigger":"/_/t","action":"/_/a"}`, `{"trigger":"/a/b/c","action":"/_/p/a"}`, `{}`, `null`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeRulePut(body)
		if err != nil {
			if !strings.Contains(err.Error(), "entity: ") {
				t.Fatalf("error without the package's text: %v", err)
			}
			return
		}
		for _, q := range []QualifiedName{p.Trigger, p.Action} {
			again, err := ParseQualifiedName(q.String())
			require.NoError(t, err)
			assert.Equal(t, q, again)
		}
	})
}
