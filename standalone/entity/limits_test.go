package entity

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLimitsValidate(t *testing.T) {
	ok := DefaultLimits()
	tests := []struct {
		name    string
		limits  Limits
		wantErr []string
	}{
		{"defaults", ok, nil},
		{"lower bounds", Limits{Timeout: 100, Memory: 128, Logs: 0, Concurrency: 1}, nil},
		{"upper bounds", Limits{Timeout: 300000, Memory: 512, Logs: 10, Concurrency: 1}, nil},
		{"timeout below", Limits{Timeout: 99, Memory: 256, Logs: 10, Concurrency: 1}, []string{"limits.timeout 99 ms is below the minimum of 100 ms; allowed 100–300000 ms"}},
		{"timeout above", Limits{Timeout: 300001, Memory: 256, Logs: 10, Concurrency: 1}, []string{"limits.timeout 300001 ms is above the maximum of 300000 ms"}},
		{"memory below", Limits{Timeout: 60000, Memory: 127, Logs: 10, Concurrency: 1}, []string{"limits.memory 127 MB is below the minimum of 128 MB"}},
		{"memory above", Limits{Timeout: 60000, Memory: 513, Logs: 10, Concurrency: 1}, []string{"limits.memory 513 MB is above the maximum of 512 MB"}},
		{"logs below", Limits{Timeout: 60000, Memory: 256, Logs: -1, Concurrency: 1}, []string{"limits.logs -1 MB is below the minimum of 0 MB"}},
		{"logs above", Limits{Timeout: 60000, Memory: 256, Logs: 11, Concurrency: 1}, []string{"limits.logs 11 MB is above the maximum of 10 MB", "--logsize"}},
		{"concurrency", Limits{Timeout: 60000, Memory: 256, Logs: 10, Concurrency: 0}, []string{"limits.concurrency 0 activations is below the minimum of 1"}},
		{"zero value: every violation named", Limits{}, []string{"limits.timeout 0", "limits.memory 0", "limits.concurrency 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.limits.Validate()
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrInvalid)
			for _, s := range tt.wantErr {
				assert.ErrorContains(t, err, s)
			}
		})
	}
}

func TestLimitsWithDefaults(t *testing.T) {
	assert.Equal(t, Limits{Timeout: 60000, Memory: 256, Logs: 10, Concurrency: 1}, Limits{}.WithDefaults())
	assert.Equal(t, Limits{Timeout: 1000, Memory: 256, Logs: 3, Concurrency: 1}, Limits{Timeout: 1000, Logs: 3}.WithDefaults())
	assert.NoError(t, Limits{}.WithDefaults().Validate())
}
