package entity

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// KindBlackbox is exec.kind for a Docker-image action (wsk --docker, and
// wsk --native with NativeImage).
const KindBlackbox = "blackbox"

// NativeImage is the image wsk --native names: a zip whose exec the
// runtime runs as it is. This server runs such an action on its own
// runtime image.
const NativeImage = "openwhisk/dockerskeleton"

// KindGoDefault is exec.kind for a .go file created without --kind; other Go
// kinds name a version, e.g. "go:1.22" (IsGoKind).
const KindGoDefault = "go:default"

// goKind is OpenWhisk's Go runtime kinds: go:default and go:1.N.
var goKind = regexp.MustCompile(`^go:(default|1\.[0-9]+)$`)

// IsGoKind reports whether kind is one of OpenWhisk's Go runtime kinds
// (go:default, go:1.22, …): Go source, a single file or a zip, that the
// server compiles.
func IsGoKind(kind string) bool { return goKind.MatchString(kind) }

// KindSequence is exec.kind for a sequence (wsk action create --sequence):
// no code, the fully qualified names of its components in order.
const KindSequence = "sequence"

// The controller's messages about sequences, verbatim.
const (
	MsgSequenceEmpty    = "No component specified for the sequence."
	MsgSequenceTooLong  = "Too many actions in the sequence."
	MsgSequenceCyclic   = "Sequence may not refer to itself."
	MsgSequenceNotFound = "Sequence component does not exist."
)

// MaxSequenceLength is the controller's actionSequenceLimit: the most
// components one sequence may name.
const MaxSequenceLength = 50

// Annotations the controller puts on every action it stores.
const (
	// AnnotationExec carries exec.kind; wsk action list reads the kind from it.
	AnnotationExec = "exec"
	// AnnotationProvideAPIKey is set to false unless the PUT body sets it.
	AnnotationProvideAPIKey = "provide-api-key"
)

// InitialVersion is the version of a newly created action.
const InitialVersion = "0.0.1"

// Action is OpenWhisk's action document, as the controller returns it for
// GET, PUT and DELETE on /namespaces/NS/actions/NAME.
type Action struct {
	// Namespace is the action's path without its name: "guest", or
	// "guest/pkg" for an action in a package.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Version is a semantic version "major.minor.patch". Empty means not
	// given; the store sets it (InitialVersion, then a patch bump per update).
	Version     string    `json:"version,omitempty"`
	Exec        Exec      `json:"exec"`
	Annotations KeyValues `json:"annotations"`
	Parameters  KeyValues `json:"parameters"`
	Limits      Limits    `json:"limits"`
	Publish     bool      `json:"publish"`
	// Updated is the time of the last create or update, epoch milliseconds.
	Updated int64 `json:"updated"`
}

// Exec is an action's "exec" object. For a blackbox action Image names the
// Docker image and Code, when present, is what /init receives.
type Exec struct {
	Kind  string `json:"kind"`
	Image string `json:"image,omitempty"`
	// Code is omitted from GET responses unless ?code=true (see WithoutCode).
	Code string `json:"code,omitempty"`
	Main string `json:"main,omitempty"`
	// Binary says Code is base64 (IsBinaryCode); the controller infers it.
	Binary bool `json:"binary"`
	// Components are a sequence's actions, "/ns/act" or "/ns/pkg/act".
	Components []string `json:"components,omitempty"`
}

// Path is the fully qualified name without the leading slash:
// "guest/act" or "guest/pkg/act".
func (a Action) Path() string { return a.Namespace + "/" + a.Name }

// WithoutCode returns a with Exec.Code cleared, as GET ?code=false answers.
func (a Action) WithoutCode() Action {
	a.Exec.Code = ""
	return a
}

// ActionSummary is one element of GET /actions: the controller's list view,
// without code, parameters or the image.
type ActionSummary struct {
	Namespace   string      `json:"namespace"`
	Name        string      `json:"name"`
	Version     string      `json:"version"`
	Publish     bool        `json:"publish"`
	Annotations KeyValues   `json:"annotations"`
	Limits      Limits      `json:"limits"`
	Exec        ExecSummary `json:"exec"`
	Updated     int64       `json:"updated"`
}

// ExecSummary is the "exec" of an ActionSummary.
type ExecSummary struct {
	Binary bool `json:"binary"`
}

// Summary returns the list view of a.
func (a Action) Summary() ActionSummary {
	return ActionSummary{
		Namespace: a.Namespace, Name: a.Name, Version: a.Version, Publish: a.Publish,
		Annotations: a.Annotations, Limits: a.Limits, Exec: ExecSummary{Binary: a.Exec.Binary}, Updated: a.Updated,
	}
}

// ActionPut is a decoded PUT /actions/NAME body (the controller's
// WhiskActionPut). Nil fields were absent: Create gives them defaults, Update
// keeps the old values. "name" and "namespace" in the body are ignored; the
// URL names the action.
type ActionPut struct {
	Exec        *Exec
	Parameters  *KeyValues
	Limits      LimitsPut
	Version     string // "" when absent
	Publish     *bool
	Annotations *KeyValues
	// DelAnnotations lists annotation keys to remove (wsk --del-annotation).
	DelAnnotations []string
}

// actionPutJSON is the wire form of ActionPut.
type actionPutJSON struct {
	Exec           *execPutJSON    `json:"exec"`
	Parameters     json.RawMessage `json:"parameters"`
	Limits         json.RawMessage `json:"limits"`
	Version        *string         `json:"version"`
	Publish        *bool           `json:"publish"`
	Annotations    json.RawMessage `json:"annotations"`
	DelAnnotations []string        `json:"delAnnotations"`
}

type execPutJSON struct {
	Kind       string   `json:"kind"`
	Image      string   `json:"image"`
	Code       *string  `json:"code"`
	Main       string   `json:"main"`
	Components []string `json:"components"`
	// binary is inferred from code, as the controller does; a sent value is ignored.
}

// dockerHint ends every error about exec: what this server runs and how to
// create such an action.
const dockerHint = "this server runs Go actions: create one from source with: wsk action create NAME main.go --kind go:1.22, " +
	"or build it and create it with: wsk action create NAME --docker epilogue/action-go action.zip"

// DecodeActionPut decodes and checks a PUT body. Size limits are the
// caller's concern. Every error wraps ErrInvalid and says what to send.
func DecodeActionPut(body []byte) (ActionPut, error) {
	var in actionPutJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return ActionPut{}, fmt.Errorf("%w: the action body is not a valid action document: %s; send a JSON object such as {\"exec\":{\"kind\":\"blackbox\",\"image\":\"epilogue/action-go\",\"code\":\"<base64 zip>\"}}", ErrInvalid, unwrapInvalid(err))
	}
	var put ActionPut
	if in.Exec != nil {
		e, err := in.Exec.exec()
		if err != nil {
			return ActionPut{}, err
		}
		put.Exec = &e
	}
	var err error
	if put.Parameters, put.Annotations, put.Version, err = decodeShared(in.Parameters, in.Annotations, in.Version); err != nil {
		return ActionPut{}, err
	}
	if in.Limits != nil && string(in.Limits) != "null" {
		if err := json.Unmarshal(in.Limits, &put.Limits); err != nil {
			return ActionPut{}, fmt.Errorf("%w: limits: %v; send {\"timeout\":<ms>,\"memory\":<MB>,\"logs\":<MB>,\"concurrency\":1}", ErrInvalid, err)
		}
	}
	put.Publish = in.Publish
	put.DelAnnotations = in.DelAnnotations
	return put, nil
}

// decodeShared decodes what every PUT body (action, package) may carry:
// parameters, annotations (nil when absent) and a version ("" when absent).
func decodeShared(params, annotations json.RawMessage, version *string) (*KeyValues, *KeyValues, string, error) {
	p, err := decodeKeyValues("parameters", params)
	if err != nil {
		return nil, nil, "", err
	}
	a, err := decodeKeyValues("annotations", annotations)
	if err != nil {
		return nil, nil, "", err
	}
	if version == nil || *version == "" {
		return p, a, "", nil
	}
	if _, err := parseSemVer(*version); err != nil {
		return nil, nil, "", err
	}
	return p, a, *version, nil
}

// decodeKeyValues decodes an optional parameters or annotations array; nil
// means absent.
func decodeKeyValues(field string, raw json.RawMessage) (*KeyValues, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var kv KeyValues
	if err := json.Unmarshal(raw, &kv); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, field, unwrapInvalid(err))
	}
	return &kv, nil
}

func (e execPutJSON) exec() (Exec, error) {
	switch {
	case e.Kind == KindBlackbox:
	case e.Kind == KindSequence:
		return sequenceExec(e.Components)
	case IsGoKind(e.Kind):
		return goExec(e)
	case e.Kind == "":
		return Exec{}, fmt.Errorf("%w: exec.kind is missing; %s", ErrInvalid, dockerHint)
	default:
		return Exec{}, fmt.Errorf("%w: exec.kind %q is not supported; %s", ErrInvalid, e.Kind, dockerHint)
	}
	image := strings.TrimSpace(e.Image)
	if image == "" {
		return Exec{}, fmt.Errorf("%w: exec.image is missing (a blackbox action names its Docker image); %s", ErrInvalid, dockerHint)
	}
	if strings.ContainsFunc(image, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Exec{}, fmt.Errorf("%w: exec.image %q is not a Docker image reference; %s", ErrInvalid, e.Image, dockerHint)
	}
	x := Exec{Kind: KindBlackbox, Image: image, Main: e.Main}
	if e.Code != nil {
		x.Code = *e.Code
		x.Binary = IsBinaryCode(x.Code)
	}
	return x, nil
}

// goExec checks a Go source action: it has code (a .go file's text, or a
// base64 zip). Whether the code compiles is found at its first invoke, as
// OpenWhisk's Go runtime finds it at /init.
func goExec(e execPutJSON) (Exec, error) {
	if e.Code == nil || strings.TrimSpace(*e.Code) == "" {
		return Exec{}, fmt.Errorf("%w: exec.code is missing: a %s action is Go source; send the text of a .go file, or a base64 zip of a Go module (wsk action create NAME main.go --kind %s)", ErrInvalid, e.Kind, e.Kind)
	}
	return Exec{Kind: e.Kind, Code: *e.Code, Binary: IsBinaryCode(*e.Code), Main: e.Main}, nil
}

// sequenceExec checks a sequence's components: 1 to MaxSequenceLength fully
// qualified action names. "_" as a namespace stays; the caller resolves it.
func sequenceExec(components []string) (Exec, error) {
	switch {
	case len(components) == 0:
		return Exec{}, fmt.Errorf("%w: %s", ErrInvalid, MsgSequenceEmpty)
	case len(components) > MaxSequenceLength:
		return Exec{}, fmt.Errorf("%w: %s", ErrInvalid, MsgSequenceTooLong)
	}
	out := make([]string, 0, len(components))
	for _, c := range components {
		q, err := ParseQualifiedName(c)
		if err != nil {
			return Exec{}, err
		}
		out = append(out, q.String())
	}
	return Exec{Kind: KindSequence, Components: out}, nil
}

// ParseActionPut decodes a PUT body into the action the controller would
// create at namespace/name (name may carry a package: "pkg/act"). The result
// has no Version and no Updated yet; the store sets them. See ActionPut.Update
// for PUT ?overwrite=true on an existing action.
func ParseActionPut(body []byte, namespace, name string) (Action, error) {
	put, err := DecodeActionPut(body)
	if err != nil {
		return Action{}, err
	}
	return put.Create(namespace, name)
}

// Create returns the new action at namespace/name: absent fields take
// OpenWhisk's defaults, and the controller's annotations are added.
func (p ActionPut) Create(namespace, name string) (Action, error) {
	ns, n, err := SplitPath(namespace, name)
	if err != nil {
		return Action{}, err
	}
	if p.Exec == nil {
		return Action{}, fmt.Errorf("%w: exec is missing; %s", ErrInvalid, dockerHint)
	}
	a := Action{Namespace: ns, Name: n, Version: p.Version, Exec: *p.Exec, Limits: p.Limits.Over(DefaultLimits())}
	if p.Parameters != nil {
		a.Parameters = *p.Parameters
	}
	if p.Annotations != nil {
		a.Annotations = *p.Annotations
	}
	if p.Publish != nil {
		a.Publish = *p.Publish
	}
	return p.finish(a)
}

// Update returns old changed by the fields present in p, as the controller
// merges PUT ?overwrite=true: limits field by field, the rest whole. A new
// exec replaces the old one entirely (an update naming only an image drops
// the old code, as in OpenWhisk). Version is p's, or empty so that the store
// bumps the patch; Updated is left for the store.
func (p ActionPut) Update(old Action) (Action, error) {
	a := old
	a.Version = p.Version
	if p.Exec != nil {
		a.Exec = *p.Exec
	}
	if p.Parameters != nil {
		a.Parameters = *p.Parameters
	}
	if p.Annotations != nil {
		a.Annotations = *p.Annotations
	}
	if p.Publish != nil {
		a.Publish = *p.Publish
	}
	a.Limits = p.Limits.Over(old.Limits)
	return p.finish(a)
}

func (p ActionPut) finish(a Action) (Action, error) {
	if err := a.Limits.Validate(); err != nil {
		return Action{}, err
	}
	// Copies: the result shares no array with p or the old action.
	a.Annotations = append(KeyValues{}, a.Annotations...)
	a.Parameters = append(KeyValues{}, a.Parameters...)
	for _, k := range p.DelAnnotations {
		a.Annotations.Delete(k)
	}
	if err := a.Annotations.SetJSON(AnnotationExec, a.Exec.Kind); err != nil {
		return Action{}, err
	}
	if _, ok := a.Annotations.Get(AnnotationProvideAPIKey); !ok {
		a.Annotations.set(AnnotationProvideAPIKey, json.RawMessage("false"))
	}
	return a, nil
}

// IsBinaryCode reports whether code is base64, exactly as OpenWhisk's
// Exec.isBinaryCode: after trimming (Java's String.trim, which removes every
// character up to U+0020) it is non-empty, its length is divisible by 4, and
// it matches ^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$.
func IsBinaryCode(code string) bool {
	t := strings.TrimFunc(code, func(r rune) bool { return r <= ' ' })
	if len(t) == 0 || len(t)%4 != 0 {
		return false
	}
	body := strings.TrimSuffix(strings.TrimSuffix(t, "="), "=") // at most two pad characters
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// entityName is OpenWhisk's EntityName pattern (Java's \w is ASCII).
var entityName = regexp.MustCompile(`^([A-Za-z0-9_]|[A-Za-z0-9_][A-Za-z0-9_@ .-]*[A-Za-z0-9_@.-]+)$`)

// MaxNameLength is the longest namespace, package or action name OpenWhisk accepts.
const MaxNameLength = 256

// ValidateName checks one path segment (a namespace, package or action name)
// against OpenWhisk's rules.
func ValidateName(segment string) error {
	if len(segment) > MaxNameLength || !entityName.MatchString(segment) {
		return fmt.Errorf("%w: name %q is not allowed; names are at most %d characters, start with a letter, digit or '_', and continue with letters, digits, '_', '@', '.', '-' or spaces (not at the end)", ErrInvalid, segment, MaxNameLength)
	}
	return nil
}

// SplitPath returns the namespace and name of the action at namespace/name
// in the controller's form: SplitPath("guest", "pkg/act") and
// SplitPath("guest/pkg", "act") both give ("guest/pkg", "act"). The full path
// has two segments (namespace/action) or three (namespace/package/action).
func SplitPath(namespace, name string) (string, string, error) {
	full := namespace + "/" + name
	segs := strings.Split(full, "/")
	if len(segs) < 2 || len(segs) > 3 {
		return "", "", fmt.Errorf("%w: %q is not an action name; use NAME or PACKAGE/NAME within a namespace", ErrInvalid, full)
	}
	for _, s := range segs {
		if err := ValidateName(s); err != nil {
			return "", "", err
		}
	}
	i := strings.LastIndexByte(full, '/')
	return full[:i], full[i+1:], nil
}

// NextVersion returns the version an update gets when it names none: the
// patch of v bumped ("0.0.1" → "0.0.2"), or InitialVersion if v is not a
// version.
func NextVersion(v string) string {
	sv, err := parseSemVer(v)
	if err != nil {
		return InitialVersion
	}
	return fmt.Sprintf("%d.%d.%d", sv[0], sv[1], sv[2]+1)
}

// parseSemVer parses OpenWhisk's SemVer "major.minor.patch" (non-negative
// integers, not all zero).
func parseSemVer(v string) ([3]int, error) {
	var sv [3]int
	parts := strings.Split(v, ".")
	bad := fmt.Errorf("%w: version %q is not major.minor.patch (e.g. %s); omit it to let the server bump the patch", ErrInvalid, v, InitialVersion)
	if len(parts) != 3 {
		return sv, bad
	}
	for i, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return sv, bad
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > 1<<30 {
			return sv, bad
		}
		sv[i] = n
	}
	if sv == [3]int{} {
		return sv, bad
	}
	return sv, nil
}

// unwrapInvalid drops a leading ErrInvalid text from a nested error so that
// messages do not repeat the prefix.
func unwrapInvalid(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
}
