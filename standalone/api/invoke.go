package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/propagation"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// HeaderActivationID names the activation in invoke answers 200, 202 and 502.
const HeaderActivationID = "x-openwhisk-activation-id"

// invoke: POST …/actions/NAME?blocking=&result=&timeout=.
//
//	non-blocking              → 202 {"activationId":…}
//	blocking, done in time    → 200 success, 502 application or developer
//	                            error, 500 whisk error; body = the activation,
//	                            or with result=true only its result
//	blocking, not done in time → 202 {"activationId":…}
func (s *server) invoke(w http.ResponseWriter, r *http.Request) {
	ns, ok := namespace(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	blocking, err := boolParam(q, "blocking", false)
	if err != nil {
		fail(w, err)
		return
	}
	resultOnly, err := boolParam(q, "result", false)
	if err != nil {
		fail(w, err)
		return
	}
	limitMs := s.blockingLimit.Milliseconds()
	timeoutMs, err := intParam(q, "timeout", limitMs, 1, limitMs)
	if err != nil {
		fail(w, err)
		return
	}
	body, err := readBody(w, r, s.maxInvoke)
	if err != nil {
		fail(w, err)
		return
	}
	a, binding, err := s.resolveAction(ns, mux.Vars(r)["name"])
	if err != nil {
		fail(w, err)
		return
	}
	params, err := mergeParams(a, body)
	if err != nil {
		fail(w, err)
		return
	}
	c := callerOf(r)
	inv, ok := s.startFor(w, r, InvokeRequest{Action: a, Params: params, Subject: c.namespace, APIKey: c.apiKey, Binding: binding})
	if !ok {
		return
	}
	w.Header().Set(HeaderActivationID, inv.ID())
	accepted := map[string]string{"activationId": inv.ID()}
	if !blocking {
		writeJSON(w, http.StatusAccepted, accepted)
		return
	}
	timer := time.NewTimer(time.Duration(timeoutMs) * time.Millisecond)
	defer timer.Stop()
	select {
	case <-inv.Done():
	case <-timer.C:
		writeJSON(w, http.StatusAccepted, accepted)
		return
	case <-r.Context().Done():
		return // the caller left; the activation goes on
	}
	rec := inv.Record()
	status := http.StatusOK
	switch rec.Response.Status {
	case entity.StatusSuccess:
	case entity.StatusApplicationError, entity.StatusDeveloperError:
		status = http.StatusBadGateway
	default:
		status = http.StatusInternalServerError
		w.Header().Del(HeaderActivationID)
	}
	if !resultOnly {
		writeJSON(w, status, rec)
		return
	}
	result := rec.Response.Result
	if len(bytes.TrimSpace(result)) == 0 || string(result) == "null" {
		result = json.RawMessage("{}")
	}
	writeRaw(w, status, result)
}

// startFor starts req for the HTTP request r, whose traceparent, if any,
// parents the activation's spans. It answers 503 itself and returns false
// when there is no invoker or it cannot start the action.
func (s *server) startFor(w http.ResponseWriter, r *http.Request, req InvokeRequest) (Invocation, bool) {
	if s.invoker == nil {
		writeError(w, http.StatusServiceUnavailable, "This server runs no invoker, so actions cannot be invoked; start it with a container pool")
		return nil, false
	}
	ctx := propagation.TraceContext{}.Extract(context.WithoutCancel(r.Context()), propagation.HeaderCarrier(r.Header))
	inv, err := s.start(ctx, req)
	if err != nil {
		writeErrorf(w, http.StatusServiceUnavailable, "The action could not be started: %v", err)
		return nil, false
	}
	return inv, true
}

// mergeParams returns the action's parameters (its package's and binding's
// merged in by resolveAction) overridden by the request
// body's, as one JSON object. An empty body is {}. With the annotation
// final=true, a request may not override a parameter the action defines.
func mergeParams(a entity.Action, body []byte) (json.RawMessage, error) {
	req := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil || req == nil {
			return nil, fmt.Errorf("%w: The request content was malformed: the invoke body must be a JSON object of parameters, such as {\"name\":\"value\"}", errBadRequest)
		}
	}
	final := false
	if v, ok := a.Annotations.Get("final"); ok {
		final = string(v) == "true"
	}
	out := make(map[string]json.RawMessage, len(a.Parameters)+len(req))
	for _, p := range a.Parameters {
		out[p.Key] = p.Value
	}
	for k, v := range req {
		if _, defined := out[k]; defined && final {
			return nil, fmt.Errorf("%w: Request defines parameters that are not allowed (e.g., reserved properties): %q is final in the action", errBadRequest, k)
		}
		out[k] = v
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("api: encode the parameters: %w", err)
	}
	return raw, nil
}
