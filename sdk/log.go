package sdk

import (
	"context"
	"log/slog"
)

// Logger returns the activation's logger: its lines carry activation=ID, so
// lines written after the response can be attributed. Outside an activation
// it returns slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if a := From(ctx); a != nil {
		return a.logger
	}
	return slog.Default()
}
