package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// DefaultMemoryMB is the memory of a container whose Spec says 0: OpenWhisk's
// default action memory limit (256 MB).
const DefaultMemoryMB = 256

// Errors callers branch on.
var (
	// ErrUnsupportedImage: the backend cannot run this image (the process
	// backend runs only epilogue/action-go).
	ErrUnsupportedImage = errors.New("backend: unsupported image")
	// ErrImageMissing: the image is not where the backend looks for it
	// and the backend never pulls (docker).
	ErrImageMissing = errors.New("backend: image missing")
	// ErrRemoved: the container was removed; it cannot be paused, unpaused
	// or have its logs read any more.
	ErrRemoved = errors.New("backend: container removed")
	// ErrClosed: Create was called after Close.
	ErrClosed = errors.New("backend: closed")
	// ErrInvalidSpec: the Spec cannot describe a container (e.g. a bad name).
	ErrInvalidSpec = errors.New("backend: invalid spec")
)

// Spec describes a container to create.
type Spec struct {
	// Name is unique among the backend's live containers, OpenWhisk-style
	// (e.g. "wsk0_3_guest_hello"): letters, digits, '_', '.', '-', starting
	// with a letter or digit, at most 200 bytes. Backends may prefix it.
	Name string
	// Image is the action image, e.g. "epilogue/action-go:latest".
	Image string
	// MemoryMB is the memory limit; 0 = DefaultMemoryMB.
	MemoryMB int
	// Env is extra environment for the proxy (e.g. __OW_API_HOST,
	// EPILOGUE_NOTIFY_URL, EPILOGUE_NOTIFY_TOKEN, EPILOGUE_SEMANTICS,
	// EPILOGUE_INSTANCE); nil = none.
	Env map[string]string
	// Labels are attached to the container where the backend can (docker);
	// nil = none.
	Labels map[string]string
}

// nameRE is Docker's container name syntax, also safe as a file name.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// maxNameLen keeps a name (plus a backend's prefix) a valid file name.
const maxNameLen = 200

// Validate reports a Spec no backend can run, wrapping ErrInvalidSpec.
func (s Spec) Validate() error {
	switch {
	case s.Name == "" || len(s.Name) > maxNameLen || !nameRE.MatchString(s.Name):
		return fmt.Errorf("%w: name %q must match %s and be at most %d bytes", ErrInvalidSpec, s.Name, nameRE, maxNameLen)
	case s.Image == "":
		return fmt.Errorf("%w: no image", ErrInvalidSpec)
	case s.MemoryMB < 0:
		return fmt.Errorf("%w: memory %d MB is negative", ErrInvalidSpec, s.MemoryMB)
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("%w: environment variable name %q", ErrInvalidSpec, k)
		}
	}
	return nil
}

// Memory returns MemoryMB, or DefaultMemoryMB when it is 0.
func (s Spec) Memory() int {
	if s.MemoryMB == 0 {
		return DefaultMemoryMB
	}
	return s.MemoryMB
}

// Container is one running action container.
type Container interface {
	// ID is the backend's identifier: the proxy's pid (process) or the
	// Docker container ID.
	ID() string
	// Name is the container's name as the backend knows it (Spec.Name,
	// possibly prefixed).
	Name() string
	// Addr is the host:port where its proxy serves /init and /run.
	Addr() string
	// Logs returns the container's stdout and stderr from the start,
	// following them until the container is removed: after Remove, each
	// reader returns what remains, then io.EOF. It may be called once; the
	// caller closes both readers.
	Logs() (stdout, stderr io.ReadCloser, err error)
	// Pause freezes every process of the container; it is idempotent.
	Pause(ctx context.Context) error
	// Unpause thaws a paused container; it is idempotent.
	Unpause(ctx context.Context) error
	// Remove kills the container and cleans up; it is idempotent, works on a
	// paused container, and returns after the processes are gone.
	Remove(ctx context.Context) error
}

// Backend creates action containers.
type Backend interface {
	// Name is "process" or "docker".
	Name() string
	// Create returns once the container runs; its proxy may take a moment
	// to accept connections (callers retry connection-refused like the
	// invoker's /init).
	Create(ctx context.Context, spec Spec) (Container, error)
	// Close removes every container this backend created; Create fails
	// with ErrClosed afterwards.
	Close(ctx context.Context) error
}
