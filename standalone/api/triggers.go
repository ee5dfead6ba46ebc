package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// Triggers and rules, as the controller answers them: a fired trigger is
// recorded as an activation whose logs say, per active rule, which
// non-blocking activation of the rule's action it started.

// listTriggers: GET …/triggers?limit=&skip=&count=.
func (s *server) listTriggers(w http.ResponseWriter, r *http.Request) {
	if ns, ok := namespace(w, r); ok {
		list(w, r, "triggers", func(limit, skip int) ([]entity.Trigger, error) { return s.store.ListTriggers(ns, limit, skip) },
			func() (int, error) { return s.store.CountTriggers(ns) }, func(t entity.Trigger) entity.Trigger { return t })
	}
}

// putTrigger: PUT …/triggers/NAME?overwrite=.
func (s *server) putTrigger(w http.ResponseWriter, r *http.Request) {
	req, ok := readPut(w, r, s.maxInvoke)
	if !ok {
		return
	}
	put, err := entity.DecodeTriggerPut(req.body)
	if err != nil {
		fail(w, err)
		return
	}
	t := entity.Trigger{Namespace: req.ns, Name: req.name}
	if old, err := s.store.GetTrigger(req.ns, req.name); err == nil && req.overwrite {
		t = old
	}
	saved, err := s.store.PutTrigger(put.Apply(t), req.overwrite)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

// getTrigger: GET …/triggers/NAME → the trigger with the rules naming it.
func (s *server) getTrigger(w http.ResponseWriter, r *http.Request) {
	t, ok := named(w, r, s.store.GetTrigger)
	if !ok {
		return
	}
	rules, err := s.store.TriggerRules(t.Namespace, t.Name)
	if err != nil {
		fail(w, err)
		return
	}
	for _, rule := range rules {
		if t.Rules == nil {
			t.Rules = map[string]entity.RuleLink{}
		}
		t.Rules[rule.Path()] = entity.RuleLink{Action: rule.Action, Status: rule.Status}
	}
	writeJSON(w, http.StatusOK, t)
}

// deleteTrigger: DELETE …/triggers/NAME.
func (s *server) deleteTrigger(w http.ResponseWriter, r *http.Request) {
	if t, ok := named(w, r, s.store.DeleteTrigger); ok {
		writeJSON(w, http.StatusOK, t)
	}
}

// ruleResult is one line of a trigger activation's logs (the controller's
// RuleActivationResult).
type ruleResult struct {
	StatusCode   int    `json:"statusCode"`
	Success      bool   `json:"success"`
	ActivationID string `json:"activationId,omitempty"`
	Error        string `json:"error,omitempty"`
	Rule         string `json:"rule"`
	Action       string `json:"action"`
}

// fireTrigger: POST …/triggers/NAME (wsk trigger fire) → 202 with the
// trigger's activation id, after one non-blocking activation per active
// rule has been started; 204 when no rule is active, as the controller.
func (s *server) fireTrigger(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, s.maxInvoke)
	if err != nil {
		fail(w, err)
		return
	}
	t, ok := named(w, r, s.store.GetTrigger)
	if !ok {
		return
	}
	payload, err := mergeParams(entity.Action{Parameters: t.Parameters}, body)
	if err != nil {
		fail(w, err)
		return
	}
	rules, err := s.store.TriggerRules(t.Namespace, t.Name)
	if err != nil {
		fail(w, err)
		return
	}
	c := callerOf(r)
	now := time.Now().UnixMilli()
	rec := entity.Activation{Namespace: c.namespace, Name: t.Name, Version: t.Version, Subject: c.namespace,
		ActivationID: entity.NewActivationID(), Start: now, End: now, Response: entity.NewResponse(entity.StatusSuccess, payload)}
	_ = rec.Annotations.SetJSON(entity.AnnotationPath, t.Path())
	for _, rule := range rules {
		if rule.Status != entity.RuleActive {
			continue
		}
		line := ruleResult{Rule: rule.Path(), Action: rule.Action.FullPath(), Success: true}
		if id, err := s.fireRule(context.WithoutCancel(r.Context()), c, rule, payload); err != nil {
			line.StatusCode, line.Success, line.Error = entity.StatusApplicationError.Code(), false, err.Error()
		} else {
			line.ActivationID = id
		}
		raw, _ := json.Marshal(line) // plain strings and numbers always encode
		rec.Logs = append(rec.Logs, string(raw))
	}
	if len(rec.Logs) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := s.store.PutActivation(rec); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"activationId": rec.ActivationID})
}

// fireRule starts the rule's action with the trigger's payload and returns
// the activation's id.
func (s *server) fireRule(ctx context.Context, c caller, rule entity.Rule, payload json.RawMessage) (string, error) {
	if s.invoker == nil {
		return "", fmt.Errorf("this server runs no invoker")
	}
	q, err := entity.ParseQualifiedName("/" + rule.Action.FullPath())
	if err != nil {
		return "", err
	}
	a, binding, err := s.resolveAction(q.Namespace, q.RelativeName())
	if err != nil {
		return "", fmt.Errorf("the action %s of rule %s: %v", rule.Action.FullPath(), rule.Name, err)
	}
	params, err := mergeParams(a, payload)
	if err != nil {
		return "", err
	}
	inv, err := s.start(ctx, InvokeRequest{Action: a, Params: params, Subject: c.namespace, APIKey: c.apiKey, Binding: binding})
	if err != nil {
		return "", err
	}
	return inv.ID(), nil
}

// listRules: GET …/rules?limit=&skip=&count=.
func (s *server) listRules(w http.ResponseWriter, r *http.Request) {
	if ns, ok := namespace(w, r); ok {
		list(w, r, "rules", func(limit, skip int) ([]entity.Rule, error) { return s.store.ListRules(ns, limit, skip) },
			func() (int, error) { return s.store.CountRules(ns) }, func(r entity.Rule) entity.Rule { return r })
	}
}

// putRule: PUT …/rules/NAME?overwrite= {"trigger":"/_/t","action":"/_/a"};
// a new rule is active, an updated one keeps its status.
func (s *server) putRule(w http.ResponseWriter, r *http.Request) {
	req, ok := readPut(w, r, s.maxInvoke)
	if !ok {
		return
	}
	put, err := entity.DecodeRulePut(req.body)
	if err != nil {
		fail(w, err)
		return
	}
	for _, q := range []*entity.QualifiedName{&put.Trigger, &put.Action} {
		if q.Namespace == "_" {
			q.Namespace = req.ns
		}
	}
	if _, _, err := s.resolveAction(put.Action.Namespace, put.Action.RelativeName()); err != nil {
		fail(w, err)
		return
	}
	rule := entity.Rule{Namespace: req.ns, Name: req.name, Status: entity.RuleActive}
	if old, err := s.store.GetRule(req.ns, req.name); err == nil && req.overwrite {
		rule = old
	}
	rule.Version, rule.Trigger, rule.Action = put.Version, put.Trigger.Ref(), put.Action.Ref()
	if put.Annotations != nil {
		rule.Annotations = *put.Annotations
	}
	saved, err := s.store.PutRule(rule, req.overwrite)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

// getRule: GET …/rules/NAME.
func (s *server) getRule(w http.ResponseWriter, r *http.Request) {
	if rule, ok := named(w, r, s.store.GetRule); ok {
		writeJSON(w, http.StatusOK, rule)
	}
}

// deleteRule: DELETE …/rules/NAME.
func (s *server) deleteRule(w http.ResponseWriter, r *http.Request) {
	if rule, ok := named(w, r, s.store.DeleteRule); ok {
		writeJSON(w, http.StatusOK, rule)
	}
}

// setRuleState: POST …/rules/NAME {"status":"active"|"inactive"} (wsk rule
// enable, disable) → the rule.
func (s *server) setRuleState(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, s.maxInvoke)
	if err != nil {
		fail(w, err)
		return
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &in); err != nil || (in.Status != entity.RuleActive && in.Status != entity.RuleInactive) {
		writeErrorf(w, http.StatusBadRequest, "The request content was malformed: send {\"status\":\"%s\"} or {\"status\":\"%s\"}", entity.RuleActive, entity.RuleInactive)
		return
	}
	rule, ok := named(w, r, s.store.GetRule)
	if !ok {
		return
	}
	if rule.Status != in.Status {
		rule.Status = in.Status
		if rule, err = s.store.PutRule(rule, true); err != nil {
			fail(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, rule)
}
