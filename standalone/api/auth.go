package api

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

const namespacesPrefix = "/api/v1/namespaces"

type userKey struct{}

// caller is who sent a request: its namespace and its credentials.
type caller struct {
	namespace string
	apiKey    string // "uuid:key"
}

// authenticate checks Basic auth on every request under /api/v1/namespaces,
// matched route or not, and puts the caller's namespace in the context.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != namespacesPrefix && !strings.HasPrefix(r.URL.Path, namespacesPrefix+"/") {
			next.ServeHTTP(w, r)
			return
		}
		c, ok := s.user(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, msgUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, c)))
	})
}

// user returns the caller of the request's Basic credentials.
func (s *server) user(r *http.Request) (caller, bool) {
	uuid, key, ok := r.BasicAuth()
	if !ok {
		return caller{}, false
	}
	want, known := s.keys[uuid]
	if !known || subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1 {
		return caller{}, false
	}
	return caller{namespace: NamespaceOf(uuid), apiKey: uuid + ":" + key}, true
}

// NamespaceOf returns the namespace of the user with uuid: "guest" and
// "whisk.system" for the well-known uuids, the uuid itself for any other.
func NamespaceOf(uuid string) string {
	switch uuid {
	case GuestUUID:
		return "guest"
	case SystemUUID:
		return "whisk.system"
	}
	return uuid
}

// callerOf returns the authenticated caller of r.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(userKey{}).(caller)
	return c
}

// namespace resolves the route's {ns}: "_" is the caller's own; another
// user's answers 403. It writes the error itself and returns false.
func namespace(w http.ResponseWriter, r *http.Request) (string, bool) {
	own := callerOf(r).namespace
	ns := mux.Vars(r)["ns"]
	if ns == "_" || ns == own {
		return own, true
	}
	writeErrorf(w, http.StatusForbidden, "The supplied authentication is not authorized to access '%s'.", ns)
	return "", false
}
