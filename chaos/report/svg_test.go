package report

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/epilogue-dev/epilogue/chaos"
)

func TestTicks(t *testing.T) {
	tests := []struct {
		name    string
		high    float64
		integer bool
		want    []float64
	}{
		{"nothing above zero still has one interval", 0, false, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{"counts of zero", 0, true, []float64{0, 1}},
		{"small counts step by one", 3, true, []float64{0, 1, 2, 3}},
		{"a multiple of the step is the top", 500, false, []float64{0, 100, 200, 300, 400, 500}},
		{"rounds up to the next step", 27, true, []float64{0, 10, 20, 30}},
		{"fractions", 0.2, false, []float64{0, 0.05, 0.1, 0.15, 0.2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ticks(tt.high, tt.integer, 5)
			assert.InDeltaSlice(t, tt.want, got, 1e-9)
		})
	}
}

func TestFixed(t *testing.T) {
	tests := []struct {
		name   string
		v      float64
		digits int
		want   string
	}{
		{"rounds", 2.345, 1, "2.3"},
		{"tiny negative is not -0", -0.01, 1, "0.0"},
		{"negative zero", math.Copysign(0, -1), 0, "0"},
		{"negative stays negative", -1.25, 1, "-1.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, fixed(tt.v, tt.digits))
		})
	}
}

func TestLingerWhy(t *testing.T) {
	result := func(semantics string, durations, lingers []float64) chaos.Result {
		return chaos.Result{Semantics: semantics, DurationMs: durations, PostResponseMs: lingers}
	}
	tests := []struct {
		name      string
		scenarios []chaos.Result
		want      string
	}{
		{"epilogue's activations last longer: the cold starts, with figures", []chaos.Result{
			result(chaos.SemanticsVanilla, []float64{20, 40}, nil),
			result(chaos.SemanticsEpilogue, []float64{100, 200}, []float64{700, 900}),
		}, "Why Epilogue costs more: a container whose activation still has work pending lingers after its response " +
			"(a mean 0.800 s here, against a mean activation duration of 0.150 s) and takes no new activation meanwhile, " +
			"so more activations need a new container and start cold: they last a mean 0.150 s under epilogue against 0.030 s under vanilla."},
		{"not longer: no claim about their durations", []chaos.Result{
			result(chaos.SemanticsVanilla, []float64{30}, nil),
			result(chaos.SemanticsEpilogue, []float64{30}, []float64{500}),
		}, "Why Epilogue costs more: a container whose activation still has work pending lingers after its response " +
			"(a mean 0.500 s here, against a mean activation duration of 0.030 s) and takes no new activation meanwhile, " +
			"so more activations need a new container and start cold."},
		{"nothing measured: the reason alone", nil,
			"Why Epilogue costs more: a container whose activation still has work pending lingers after its response " +
				"and takes no new activation meanwhile, so more activations need a new container and start cold."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, lingerWhy([]chaos.Report{{Backend: "process", Scenarios: tt.scenarios}}))
		})
	}
}
