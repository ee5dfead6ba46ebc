package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func TestTriggersAndRules(t *testing.T) {
	s := openTest(t, t.TempDir())
	rule := func(name, trigger string) entity.Rule {
		return entity.Rule{Namespace: "guest", Name: name, Status: entity.RuleActive,
			Trigger: entity.EntityRef{Name: trigger, Path: "guest"}, Action: entity.EntityRef{Name: "a", Path: "guest"}}
	}
	_, err := s.PutRule(rule("r", "t"), false)
	assert.ErrorIs(t, err, ErrNotFound, "a rule needs its trigger")

	tr, err := s.PutTrigger(entity.Trigger{Namespace: "guest", Name: "t"}, false)
	require.NoError(t, err)
	assert.Equal(t, entity.InitialVersion, tr.Version)
	_, err = s.PutTrigger(entity.Trigger{Namespace: "guest", Name: "t2"}, false)
	require.NoError(t, err)
	for _, r := range []entity.Rule{rule("r", "t"), rule("r2", "t2"), rule("r3", "t")} {
		_, err := s.PutRule(r, false)
		require.NoError(t, err)
	}
	of, err := s.TriggerRules("guest", "t")
	require.NoError(t, err)
	names := []string{}
	for _, r := range of {
		names = append(names, r.Name)
	}
	assert.ElementsMatch(t, []string{"r", "r3"}, names)

	got, err := s.GetRule("guest", "r")
	require.NoError(t, err)
	got.Status, got.Version = entity.RuleInactive, "" // the store bumps an unset version
	updated, err := s.PutRule(got, true)
	require.NoError(t, err)
	assert.Equal(t, "0.0.2", updated.Version)

	triggers, err := s.ListTriggers("guest", 0, 0)
	require.NoError(t, err)
	assert.Len(t, triggers, 2)
	n, err := s.CountTriggers("guest")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = s.DeleteTrigger("guest", "t")
	require.NoError(t, err)
	_, err = s.GetTrigger("guest", "t")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.DeleteRule("guest", "r")
	require.NoError(t, err)
	rules, err := s.ListRules("guest", 0, 0)
	require.NoError(t, err)
	assert.Len(t, rules, 2)
	n, err = s.CountRules("guest")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = s.GetRule("guest", "$bad")
	assert.ErrorIs(t, err, ErrNotFound)
}
