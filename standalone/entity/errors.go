package entity

import "errors"

// ErrInvalid is wrapped by every error about a document that breaks
// OpenWhisk's rules: a malformed PUT body, a limit out of bounds, a bad name
// or version. An HTTP layer answers it with 400; the message says what to fix.
var ErrInvalid = errors.New("entity: invalid")
