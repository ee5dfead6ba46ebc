package pool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// unusedBackend satisfies Config.Backend where nothing is created.
type unusedBackend struct{ backend.Backend }

func TestRuntimeSemantics(t *testing.T) {
	tests := []struct {
		name    string
		policy  reclaim.Policy
		in      completion.Semantics
		want    completion.Semantics
		wantErr string
	}{
		{name: "epilogue default", policy: reclaim.Epilogue, want: completion.Isolated},
		{name: "vanilla default: stock runtimes overlap", policy: reclaim.Vanilla, want: completion.Overlap},
		{name: "vanilla with the Epilogue runtime, as behind the shim", policy: reclaim.Vanilla, in: completion.Isolated, want: completion.Isolated},
		{name: "epilogue, overlap asked for", policy: reclaim.Epilogue, in: completion.Overlap, want: completion.Overlap},
		{name: "unknown", policy: reclaim.Epilogue, in: "strict", wantErr: `unknown semantics "strict"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Config{Backend: unusedBackend{}, Store: &store.Store{}, Policy: tt.policy, RuntimeSemantics: tt.in}.withDefaults()
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrConfig)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.RuntimeSemantics)
		})
	}
}
