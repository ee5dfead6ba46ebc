package entity

import (
	"fmt"
	"strings"
)

// QualifiedName is a fully qualified action name, as a sequence names its
// components: /ns/act or /ns/pkg/act. Namespace may be "_", the caller's.
type QualifiedName struct {
	Namespace string
	Package   string // "" for the namespace's default package
	Name      string
}

// ParseQualifiedName parses "/ns/act" or "/ns/pkg/act", as wsk sends a
// sequence's components. Every segment must be a valid name. The error
// wraps ErrInvalid.
func ParseQualifiedName(s string) (QualifiedName, error) {
	segs := strings.Split(strings.TrimPrefix(s, "/"), "/")
	if !strings.HasPrefix(s, "/") || len(segs) < 2 || len(segs) > 3 {
		return QualifiedName{}, fmt.Errorf("%w: %q is not a fully qualified action name; use /NAMESPACE/ACTION or /NAMESPACE/PACKAGE/ACTION (wsk fills them in from --sequence a,pkg/b)", ErrInvalid, s)
	}
	for _, seg := range segs {
		if err := ValidateName(seg); err != nil {
			return QualifiedName{}, err
		}
	}
	q := QualifiedName{Namespace: segs[0], Name: segs[len(segs)-1]}
	if len(segs) == 3 {
		q.Package = segs[1]
	}
	return q, nil
}

// RelativeName is the action's name within its namespace: "act" or "pkg/act".
func (q QualifiedName) RelativeName() string {
	if q.Package == "" {
		return q.Name
	}
	return q.Package + "/" + q.Name
}

// String is "/ns/act" or "/ns/pkg/act".
func (q QualifiedName) String() string { return "/" + q.Namespace + "/" + q.RelativeName() }
