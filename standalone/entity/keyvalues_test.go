package entity

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyValuesJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    KeyValues
		wantOut string
		wantErr string
	}{
		{"empty", `[]`, KeyValues{}, `[]`, ""},
		{"null", `null`, nil, `[]`, ""},
		{"values of every type, compacted", `[{"key":"s","value":"v"},{"key":"n","value": 3 },{"key":"o","value":{ "a" : [1, 2] }},{"key":"z","value":null}]`,
			KeyValues{{"s", json.RawMessage(`"v"`)}, {"n", json.RawMessage(`3`)}, {"o", json.RawMessage(`{"a":[1,2]}`)}, {"z", json.RawMessage(`null`)}},
			`[{"key":"s","value":"v"},{"key":"n","value":3},{"key":"o","value":{"a":[1,2]}},{"key":"z","value":null}]`, ""},
		{"repeated key: first position, last value", `[{"key":"a","value":1},{"key":"b","value":2},{"key":"a","value":3}]`,
			KeyValues{{"a", json.RawMessage(`3`)}, {"b", json.RawMessage(`2`)}}, `[{"key":"a","value":3},{"key":"b","value":2}]`, ""},
		{"extra fields ignored", `[{"key":"a","value":1,"init":true}]`, KeyValues{{"a", json.RawMessage(`1`)}}, `[{"key":"a","value":1}]`, ""},
		{"object form rejected", `{"a":1}`, nil, "", `want [{"key":"name","value":<JSON>}`},
		{"missing key", `[{"value":1}]`, nil, "", `entry 0 has no "key"`},
		{"empty key", `[{"key":"","value":1}]`, nil, "", `entry 0 has no "key"`},
		{"missing value", `[{"key":"a"}]`, nil, "", `entry 0 ("a") has no "value"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kv KeyValues
			err := json.Unmarshal([]byte(tt.in), &kv)
			if tt.wantErr != "" {
				assert.ErrorIs(t, err, ErrInvalid)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, kv)
			out, err := json.Marshal(kv)
			require.NoError(t, err)
			assert.Equal(t, tt.wantOut, string(out))
		})
	}
}

func TestKeyValuesGetSet(t *testing.T) {
	var kv KeyValues
	_, ok := kv.Get("a")
	assert.False(t, ok)

	require.NoError(t, kv.Set("a", json.RawMessage(` { "x" : 1 } `)))
	require.NoError(t, kv.SetJSON("b", "str"))
	require.NoError(t, kv.SetJSON("a", 2)) // replaced in place
	assert.Equal(t, KeyValues{{"a", json.RawMessage(`2`)}, {"b", json.RawMessage(`"str"`)}}, kv)

	v, ok := kv.Get("a")
	assert.True(t, ok)
	assert.Equal(t, json.RawMessage(`2`), v)
	s, ok := kv.GetString("b")
	assert.True(t, ok)
	assert.Equal(t, "str", s)
	_, ok = kv.GetString("a")
	assert.False(t, ok, "not a string")

	assert.ErrorIs(t, kv.Set("c", json.RawMessage(`{`)), ErrInvalid)

	kv.Delete("a")
	kv.Delete("missing")
	assert.Equal(t, KeyValues{{"b", json.RawMessage(`"str"`)}}, kv)
}
