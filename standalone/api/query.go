package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// errBadRequest marks a query or body the caller must fix (400).
var errBadRequest = errors.New("api: bad request")

// boolParam reads ?key=true|false; absent gives def.
func boolParam(q url.Values, key string, def bool) (bool, error) {
	v, ok := q[key]
	if !ok || len(v) == 0 || v[0] == "" {
		return def, nil
	}
	switch strings.ToLower(v[0]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: the value %q of parameter '%s' is not a boolean; use true or false", errBadRequest, v[0], key)
}

// intParam reads ?key=<integer in [lo, hi]>; absent gives def.
func intParam(q url.Values, key string, def, lo, hi int64) (int64, error) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: the value %q of parameter '%s' is not an integer from %d to %d", errBadRequest, v, key, lo, hi)
	}
	return n, nil
}

// page reads ?limit= (0..200; 0 = the store's default) and ?skip=.
func page(q url.Values) (limit, skip int, err error) {
	l, err := intParam(q, "limit", 0, 0, store.MaxListLimit)
	if err != nil {
		return 0, 0, err
	}
	sk, err := intParam(q, "skip", 0, 0, 1<<31-1)
	if err != nil {
		return 0, 0, err
	}
	return int(l), int(sk), nil
}

// readBody reads at most limit bytes of the request body. A body declared
// or found larger is errTooLarge before any of it is used.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge{limit: limit, size: r.ContentLength}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errTooLarge{limit: limit}
		}
		return nil, fmt.Errorf("api: reading the request body: %w", err)
	}
	return body, nil
}

// errTooLarge is a request body over the limit: 413 with the controller's
// message. size is the declared length, 0 when the body came without one.
type errTooLarge struct{ limit, size int64 }

func (e errTooLarge) Error() string {
	if e.size == 0 {
		return fmt.Sprintf("Request larger than allowed: more than %d bytes were sent; at most %d bytes are allowed.", e.limit, e.limit)
	}
	return fmt.Sprintf("Request larger than allowed: %d > %d bytes.", e.size, e.limit)
}

// messageErrors carry a message for the caller after their sentinel's text:
// each answers its status with that message.
var messageErrors = []struct {
	sentinel error
	status   int
}{
	{errBadRequest, http.StatusBadRequest},
	{entity.ErrInvalid, http.StatusBadRequest},
	{store.ErrBadBinding, http.StatusBadRequest},
	{store.ErrBinding, http.StatusBadRequest},
	{store.ErrConflict, http.StatusConflict},
}

// fail answers err with its status: 400 for bad input, 404 for missing
// resources, 409 for existing ones and conflicts, 413 for a body over the
// limit, 500 otherwise.
func fail(w http.ResponseWriter, err error) {
	var tooBig errTooLarge
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, tooBig.Error())
		return
	}
	for _, m := range messageErrors {
		if errors.Is(err, m.sentinel) {
			msg := err.Error()
			if k := strings.Index(msg, m.sentinel.Error()+": "); k >= 0 {
				msg = msg[k+len(m.sentinel.Error())+2:]
			}
			writeError(w, m.status, msg)
			return
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, msgNotFound)
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "resource already exists; update it (PUT ?overwrite=true) or delete it first")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// putRequest is what every PUT …/COLLECTION/NAME?overwrite= carries.
type putRequest struct {
	ns, name  string
	overwrite bool
	body      []byte
}

// readPut reads a PUT request's namespace, name, ?overwrite= and body of at
// most limit bytes. It writes the error itself and returns false.
func readPut(w http.ResponseWriter, r *http.Request, limit int64) (putRequest, bool) {
	ns, ok := namespace(w, r)
	if !ok {
		return putRequest{}, false
	}
	overwrite, err := boolParam(r.URL.Query(), "overwrite", false)
	if err == nil {
		var body []byte
		if body, err = readBody(w, r, limit); err == nil {
			return putRequest{ns: ns, name: mux.Vars(r)["name"], overwrite: overwrite, body: body}, true
		}
	}
	fail(w, err)
	return putRequest{}, false
}
