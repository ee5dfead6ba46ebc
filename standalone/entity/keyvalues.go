package entity

import (
	"encoding/json"
	"fmt"
)

// KeyValue is one entry of OpenWhisk's parameter and annotation arrays,
// {"key": "…", "value": <any JSON>}.
type KeyValue struct {
	Key string `json:"key"`
	// Value is compact JSON, as json.Marshal writes it.
	Value json.RawMessage `json:"value"`
}

// KeyValues is OpenWhisk's [{"key":…,"value":…}] array, used for an action's
// parameters and annotations and an activation's annotations. Keys are
// unique: decoding keeps the first position of a repeated key and its last
// value, as the controller's map does. Nil marshals as [], never null.
type KeyValues []KeyValue

// Get returns the value stored under key.
func (kv KeyValues) Get(key string) (json.RawMessage, bool) {
	for _, e := range kv {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// GetString returns the value under key when it is a JSON string.
func (kv KeyValues) GetString(key string) (string, bool) {
	raw, ok := kv.Get(key)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// Set stores value under key, replacing an existing entry in place or
// appending a new one. value must be valid JSON; it is stored compacted.
func (kv *KeyValues) Set(key string, value json.RawMessage) error {
	canon, err := canonicalJSON(value)
	if err != nil {
		return fmt.Errorf("%w: value of %q is not JSON: %v", ErrInvalid, key, err)
	}
	kv.set(key, canon)
	return nil
}

// SetJSON stores json.Marshal(v) under key.
func (kv *KeyValues) SetJSON(key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: value of %q cannot be encoded: %v", ErrInvalid, key, err)
	}
	kv.set(key, raw)
	return nil
}

// Delete removes key, if present.
func (kv *KeyValues) Delete(key string) {
	for i, e := range *kv {
		if e.Key == key {
			*kv = append((*kv)[:i:i], (*kv)[i+1:]...)
			return
		}
	}
}

func (kv *KeyValues) set(key string, canon json.RawMessage) {
	for i := range *kv {
		if (*kv)[i].Key == key {
			(*kv)[i].Value = canon
			return
		}
	}
	*kv = append(*kv, KeyValue{Key: key, Value: canon})
}

// MarshalJSON writes [] for a nil KeyValues.
func (kv KeyValues) MarshalJSON() ([]byte, error) {
	if kv == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]KeyValue(kv))
}

// UnmarshalJSON accepts OpenWhisk's array form only. Every entry needs a
// non-empty string key and a value (null is a value); values are stored
// compacted; a repeated key keeps its first position and its last value.
// JSON null leaves kv nil.
func (kv *KeyValues) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*kv = nil
		return nil
	}
	var entries []struct {
		Key   *string         `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		return fmt.Errorf("%w: want [{\"key\":\"name\",\"value\":<JSON>}, …]: %v", ErrInvalid, err)
	}
	out := make(KeyValues, 0, len(entries))
	for i, e := range entries {
		if e.Key == nil || *e.Key == "" {
			return fmt.Errorf("%w: entry %d has no \"key\"; every entry needs {\"key\":\"name\",\"value\":<JSON>}", ErrInvalid, i)
		}
		if e.Value == nil {
			return fmt.Errorf("%w: entry %d (%q) has no \"value\"; use null for an empty value", ErrInvalid, i, *e.Key)
		}
		canon, err := canonicalJSON(e.Value)
		if err != nil {
			return fmt.Errorf("%w: entry %d (%q): %v", ErrInvalid, i, *e.Key, err)
		}
		out.set(*e.Key, canon)
	}
	*kv = out
	return nil
}

// canonicalJSON returns raw exactly as json.Marshal would write it, so that a
// value survives any number of encode/decode round trips unchanged.
func canonicalJSON(raw json.RawMessage) (json.RawMessage, error) {
	return json.Marshal(raw)
}
