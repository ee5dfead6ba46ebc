package entity

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Status is an activation's response.status. The four values and their codes
// are OpenWhisk's (ActivationResponse).
type Status string

// Statuses, in code order 0..3.
const (
	// StatusSuccess: the action answered with a result.
	StatusSuccess Status = "success"
	// StatusApplicationError: the action answered {"error": …}.
	StatusApplicationError Status = "application error"
	// StatusDeveloperError: the action failed to initialise, crashed, timed
	// out or answered something that is not a JSON object.
	StatusDeveloperError Status = "action developer error"
	// StatusWhiskError: the platform failed (no container, lost activation).
	StatusWhiskError Status = "whisk internal error"
)

// Code returns OpenWhisk's status code: 0 success, 1 application error,
// 2 action developer error, 3 whisk internal error (also for an unknown
// status, which only a broken record can carry).
func (s Status) Code() int {
	switch s {
	case StatusSuccess:
		return 0
	case StatusApplicationError:
		return 1
	case StatusDeveloperError:
		return 2
	default:
		return 3
	}
}

func (s Status) String() string { return string(s) }

// Response is an activation's "response": the record's toExtendedJson form,
// without size. It has no statusCode because the controller's has none:
// ActivationResponse.toExtendedJson removes it from every record the REST
// API returns (invoke, GET, list with docs). client-go fills the record's
// top-level statusCode from status, and prints response.statusCode as 0,
// against OpenWhisk as against this server.
type Response struct {
	Status  Status `json:"status"`
	Success bool   `json:"success"`
	// Result is the action's JSON answer; absent when there is none.
	Result json.RawMessage `json:"result,omitempty"`
}

// NewResponse returns a response with status and result; Success is true
// exactly for StatusSuccess.
func NewResponse(status Status, result json.RawMessage) Response {
	return Response{Status: status, Success: status == StatusSuccess, Result: result}
}

// StatusCode returns r.Status.Code().
func (r Response) StatusCode() int { return r.Status.Code() }

// Annotation keys on an activation. The first group is OpenWhisk's; the
// second is Epilogue's: what happened after the response.
const (
	// AnnotationPath is the action's full path, "ns/act" or "ns/pkg/act".
	AnnotationPath = "path"
	// AnnotationKind is exec.kind; wsk activation list prints it.
	AnnotationKind = "kind"
	// AnnotationLimits is the action's limits object.
	AnnotationLimits = "limits"
	// AnnotationTimeout is true when the activation hit its time limit.
	AnnotationTimeout = "timeout"
	// AnnotationWaitTime is the time in ms from arrival to the start of /run.
	AnnotationWaitTime = "waitTime"
	// AnnotationInitTime is the /init time in ms, present on cold starts
	// only (wsk activation list prints "cold" when present).
	AnnotationInitTime = "initTime"
	// AnnotationCausedBy is "sequence" for a sequence's component activations.
	AnnotationCausedBy = "causedBy"
	// AnnotationBinding names the package binding an action was invoked through.
	AnnotationBinding = "binding"

	// AnnotationCompletion is how the activation ended after its response:
	// one of CompletionDone, CompletionExpired, CompletionFailed.
	AnnotationCompletion = "completion"
	// AnnotationPostResponseDuration is the time in ms from the response to
	// completion.
	AnnotationPostResponseDuration = "postResponseDuration"
	// AnnotationPostResponseErrors lists, as strings, the errors of work that
	// ran after the response, or the work that had not finished at expiry.
	AnnotationPostResponseErrors = "postResponseErrors"
)

// Completion is the value of the completion annotation. The values are the
// terminal phases of package completion.
type Completion string

// Completions.
const (
	// CompletionDone: nothing was pending any more.
	CompletionDone Completion = "done"
	// CompletionExpired: work was still pending at the time limit and was cancelled.
	CompletionExpired Completion = "expired"
	// CompletionFailed: post-response work failed, or the action process died.
	CompletionFailed Completion = "failed"
)

func (c Completion) String() string { return string(c) }

// Activation is OpenWhisk's activation record as GET /activations/ID and a
// blocking invoke return it (WhiskActivation.toExtendedJson).
type Activation struct {
	// Namespace is the invoking subject's namespace.
	Namespace string `json:"namespace"`
	// Name is the action's name without namespace or package.
	Name         string `json:"name"`
	Version      string `json:"version"`
	Subject      string `json:"subject"`
	ActivationID string `json:"activationId"`
	// Start, End and Duration are epoch ms, epoch ms and ms. End is 0 (and
	// omitted) while the activation has not ended.
	Start    int64    `json:"start"`
	End      int64    `json:"end,omitempty"`
	Duration int64    `json:"duration"`
	Response Response `json:"response"`
	// Logs are the collected log lines; marshalled as [] when nil.
	Logs        []string  `json:"logs"`
	Annotations KeyValues `json:"annotations"`
	Publish     bool      `json:"publish"`
	// Cause is the id of the activation that caused this one (sequences).
	Cause string `json:"cause,omitempty"`
}

// MarshalJSON writes Logs as [] rather than null.
func (a Activation) MarshalJSON() ([]byte, error) {
	type plain Activation
	if a.Logs == nil {
		a.Logs = []string{}
	}
	return json.Marshal(plain(a))
}

// ActivationSummary is one element of GET /activations without docs=true:
// the controller's list view, with no logs and no response, but with the
// top-level statusCode wsk activation list prints.
type ActivationSummary struct {
	Namespace    string    `json:"namespace"`
	Name         string    `json:"name"`
	Version      string    `json:"version"`
	Publish      bool      `json:"publish"`
	Annotations  KeyValues `json:"annotations"`
	ActivationID string    `json:"activationId"`
	Start        int64     `json:"start"`
	End          int64     `json:"end,omitempty"`
	Duration     int64     `json:"duration,omitempty"`
	Cause        string    `json:"cause,omitempty"`
	// StatusCode is present once the activation has ended.
	StatusCode *int `json:"statusCode,omitempty"`
}

// Summary returns the list view of a. As in the controller's view, end,
// duration and statusCode are present only once the activation has ended.
func (a Activation) Summary() ActivationSummary {
	s := ActivationSummary{
		Namespace: a.Namespace, Name: a.Name, Version: a.Version, Publish: a.Publish,
		Annotations: a.Annotations, ActivationID: a.ActivationID, Start: a.Start, Cause: a.Cause,
	}
	if a.End != 0 {
		code := a.Response.StatusCode()
		s.End, s.Duration, s.StatusCode = a.End, a.End-a.Start, &code
	}
	return s
}

// FilterName is the name GET /activations?name=… matches, as the
// controller's activation filter view computes it: "pkg/act" for an action in
// a package (from the path annotation, or the binding annotation when invoked
// through a binding), else the action's name.
func (a Activation) FilterName() string {
	if b, ok := a.Annotations.GetString(AnnotationBinding); ok && b != "" {
		if parts := strings.Split(b, "/"); len(parts) >= 2 {
			return parts[1] + "/" + a.Name
		}
	}
	if p, ok := a.Annotations.GetString(AnnotationPath); ok {
		if parts := strings.Split(p, "/"); len(parts) == 3 {
			return parts[1] + "/" + a.Name
		}
	}
	return a.Name
}

// NewActivationID returns a fresh activation id: 32 lowercase hex digits
// from crypto/rand, as OpenWhisk's ActivationId.
func NewActivationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// IsActivationID reports whether id has the form NewActivationID produces.
func IsActivationID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
