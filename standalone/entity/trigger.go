package entity

import (
	"encoding/json"
	"fmt"
)

// Rule statuses.
const (
	RuleActive   = "active"
	RuleInactive = "inactive"
)

// Trigger is OpenWhisk's trigger document (WhiskTrigger). Rules is filled
// in on GET from the rules that name the trigger.
//
// A trigger created with a feed (wsk trigger create --feed) carries a
// "feed" annotation naming the feed action, which the server only stores,
// as OpenWhisk's controller does: the wsk CLI runs the feed's lifecycle
// (it invokes the feed action with lifecycleEvent CREATE, READ, UPDATE or
// DELETE, triggerName and authKey), and the feed fires the trigger through
// the API with that key.
type Trigger struct {
	Namespace   string              `json:"namespace"`
	Name        string              `json:"name"`
	Version     string              `json:"version,omitempty"`
	Publish     bool                `json:"publish"`
	Annotations KeyValues           `json:"annotations"`
	Parameters  KeyValues           `json:"parameters"`
	Limits      struct{}            `json:"limits"`
	Rules       map[string]RuleLink `json:"rules,omitempty"`
	Updated     int64               `json:"updated"`
}

// Path is "ns/trigger".
func (t Trigger) Path() string { return t.Namespace + "/" + t.Name }

// RuleLink is one entry of a trigger's "rules": the rule's action and status.
type RuleLink struct {
	Action EntityRef `json:"action"`
	Status string    `json:"status"`
}

// EntityRef is {"name":…,"path":…}, as a rule names its trigger and action.
type EntityRef struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// Ref returns q as an EntityRef: path "ns" or "ns/pkg".
func (q QualifiedName) Ref() EntityRef {
	path := q.Namespace
	if q.Package != "" {
		path += "/" + q.Package
	}
	return EntityRef{Name: q.Name, Path: path}
}

// FullPath is "path/name".
func (r EntityRef) FullPath() string { return r.Path + "/" + r.Name }

// Rule is OpenWhisk's rule as the controller answers it (WhiskRuleResponse).
type Rule struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Version     string    `json:"version,omitempty"`
	Publish     bool      `json:"publish"`
	Annotations KeyValues `json:"annotations"`
	Status      string    `json:"status"`
	Trigger     EntityRef `json:"trigger"`
	Action      EntityRef `json:"action"`
	Updated     int64     `json:"updated"`
}

// Path is "ns/rule".
func (r Rule) Path() string { return r.Namespace + "/" + r.Name }

// TriggerPut is a decoded PUT /triggers/NAME body; nil fields were absent.
type TriggerPut struct {
	Parameters  *KeyValues
	Annotations *KeyValues
	Version     string
	Publish     *bool
}

// DecodeTriggerPut decodes a PUT body. Every error wraps ErrInvalid.
func DecodeTriggerPut(body []byte) (TriggerPut, error) {
	var in struct {
		Parameters  json.RawMessage `json:"parameters"`
		Annotations json.RawMessage `json:"annotations"`
		Version     *string         `json:"version"`
		Publish     *bool           `json:"publish"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return TriggerPut{}, fmt.Errorf("%w: the trigger body is not a valid trigger document: %s; send a JSON object such as {\"parameters\":[{\"key\":\"k\",\"value\":1}]}", ErrInvalid, unwrapInvalid(err))
		}
	}
	put := TriggerPut{Publish: in.Publish}
	var err error
	if put.Parameters, put.Annotations, put.Version, err = decodeShared(in.Parameters, in.Annotations, in.Version); err != nil {
		return TriggerPut{}, err
	}
	return put, nil
}

// Apply returns old (the zero Trigger for a create) with the fields present
// in p; Version is p's, or empty so that the store sets it.
func (p TriggerPut) Apply(old Trigger) Trigger {
	old.Version, old.Rules = p.Version, nil
	applyShared(p.Parameters, p.Annotations, p.Publish, &old.Parameters, &old.Annotations, &old.Publish)
	return old
}

// RulePut is a decoded PUT /rules/NAME body: the trigger and action as
// fully qualified names ("/_/t", "/_/pkg/a").
type RulePut struct {
	Trigger, Action QualifiedName
	Annotations     *KeyValues
	Version         string
}

// DecodeRulePut decodes a PUT body; trigger and action are required.
func DecodeRulePut(body []byte) (RulePut, error) {
	var in struct {
		Trigger     string          `json:"trigger"`
		Action      string          `json:"action"`
		Annotations json.RawMessage `json:"annotations"`
		Version     *string         `json:"version"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return RulePut{}, fmt.Errorf("%w: the rule body is not a valid rule document: %s; send {\"trigger\":\"/_/TRIGGER\",\"action\":\"/_/ACTION\"}", ErrInvalid, unwrapInvalid(err))
	}
	var put RulePut
	var err error
	if put.Trigger, err = ParseQualifiedName(in.Trigger); err != nil {
		return RulePut{}, fmt.Errorf("trigger: %w", err)
	}
	if put.Trigger.Package != "" {
		return RulePut{}, fmt.Errorf("%w: trigger %q: triggers are not in packages", ErrInvalid, in.Trigger)
	}
	if put.Action, err = ParseQualifiedName(in.Action); err != nil {
		return RulePut{}, fmt.Errorf("action: %w", err)
	}
	if _, put.Annotations, put.Version, err = decodeShared(nil, in.Annotations, in.Version); err != nil {
		return RulePut{}, err
	}
	return put, nil
}
