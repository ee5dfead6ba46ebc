package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

// readBody reads at most limit bytes of the request body.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
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

type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("The request content exceeds the maximum allowed (%d bytes); send a smaller body (an action's code is best kept as a zip of the built binary)", e.limit)
}

// fail answers err with its status: 400 for bad input, 404 for missing
// resources, 409 for existing ones, 413 for a body over the limit, 500
// otherwise.
func fail(w http.ResponseWriter, err error) {
	var tooBig errTooLarge
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, tooBig.Error())
	case errors.Is(err, errBadRequest):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
	case errors.Is(err, entity.ErrInvalid):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), entity.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, msgNotFound)
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, strings.TrimPrefix(err.Error(), store.ErrConflict.Error()+": "))
	case errors.Is(err, store.ErrBadBinding):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), store.ErrBadBinding.Error()+": "))
	case errors.Is(err, store.ErrBinding):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), store.ErrBinding.Error()+": "))
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "resource already exists; replace it with `wsk action update` (PUT ?overwrite=true) or delete it first")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
