package pool

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/epilogue-dev/epilogue/standalone/containerclient"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// OpenWhisk's activation messages (Messages.scala), which users match on.
const (
	msgAbnormalInit = "The action did not initialize and exited unexpectedly."
	msgAbnormalRun  = "The action did not produce a valid response and exited unexpectedly."
	// msgProvision prefixes the platform's failures to get the activation
	// a container (Messages.resourceProvisionError, with the cause).
	msgProvision = "Failed to provision resources to run the action: "
)

// msgCodeUnreadable is the whisk error of an activation whose action's code
// could not be read from the store.
func msgCodeUnreadable(err error) string {
	return msgProvision + "its code could not be read: " + err.Error()
}

func msgTimedOut(timeoutMs int, init bool) string {
	if init {
		return fmt.Sprintf("The action exceeded its time limits of %d milliseconds during initialization.", timeoutMs)
	}
	return fmt.Sprintf("The action exceeded its time limits of %d milliseconds.", timeoutMs)
}

func msgInvalidInit(body []byte) string {
	if len(body) == 0 {
		return "The action failed during initialization."
	}
	return "The action failed during initialization: " + string(body)
}

func msgInvalidRun(body []byte) string {
	if len(body) == 0 {
		return "The action did not produce a valid JSON response."
	}
	return "The action did not produce a valid JSON response: " + string(body)
}

func msgTruncated(r containerclient.Reply) string {
	return fmt.Sprintf("The action produced a response that exceeded the allowed length: %d > %d bytes. The truncated response was: %s",
		r.Length, len(r.Body), r.Body)
}

// errorResult is {"error": v}.
func errorResult(v any) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"error": v}) // a string or a raw JSON value: never fails
	return b
}

// initResponse is the activation's response after a failed /init
// (ActivationResponse.processInitResponseContent).
func initResponse(r containerclient.Reply) entity.Response {
	if r.Truncated() {
		return entity.NewResponse(entity.StatusDeveloperError, errorResult(msgTruncated(r)))
	}
	if obj, ok := jsonObject(r.Body); ok {
		if e, has := obj["error"]; has {
			return entity.NewResponse(entity.StatusDeveloperError, errorResult(e))
		}
	}
	return entity.NewResponse(entity.StatusDeveloperError, errorResult(msgInvalidInit(r.Body)))
}

// runResponse is the activation's response to a /run answer
// (ActivationResponse.processRunResponseContent): 200 with an object is a
// success, or an application error when the object has "error"; 200 with an
// array is a success; anything else is a developer error; an answer over
// the payload limit is an application error.
func runResponse(r containerclient.Reply) entity.Response {
	if r.Truncated() {
		return entity.NewResponse(entity.StatusApplicationError, errorResult(msgTruncated(r)))
	}
	obj, isObj := jsonObject(r.Body)
	switch {
	case isObj && r.OK():
		if e, has := obj["error"]; has {
			return entity.NewResponse(entity.StatusApplicationError, errorResult(e))
		}
		return entity.NewResponse(entity.StatusSuccess, compact(r.Body))
	case isObj:
		if e, has := obj["error"]; has {
			return entity.NewResponse(entity.StatusDeveloperError, errorResult(e))
		}
	case r.OK() && isJSONArray(r.Body):
		return entity.NewResponse(entity.StatusSuccess, compact(r.Body))
	}
	return entity.NewResponse(entity.StatusDeveloperError, errorResult(msgInvalidRun(bytes.TrimSpace(r.Body))))
}

func jsonObject(b []byte) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

func isJSONArray(b []byte) bool {
	t := bytes.TrimSpace(b)
	return len(t) > 0 && t[0] == '[' && json.Valid(t)
}

// compact returns valid JSON without insignificant space (the proxy ends
// its answer with a newline).
func compact(b []byte) json.RawMessage {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return json.RawMessage(bytes.TrimSpace(b))
	}
	return out.Bytes()
}
