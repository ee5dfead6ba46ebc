package report

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/epilogue-dev/epilogue/chaos"
)

// TestDurableSection: the durable rows show beside vanilla's and
// epilogue's, per fault, with the time to recovery; a run without durable
// has no section and no mention of it.
func TestDurableSection(t *testing.T) {
	vanilla := chaos.Result{Semantics: chaos.SemanticsVanilla, Workload: chaos.WorkloadAckWrite, Fault: chaos.FaultSIGKILL, Acknowledged: 6, Persisted: 3, Lost: 3}
	durable := chaos.Result{Semantics: chaos.SemanticsDurable, Workload: chaos.WorkloadAckWrite, Fault: chaos.FaultSIGKILL,
		Acknowledged: 6, Persisted: 6, Recovered: 3, RecoveryMs: []float64{4000, 4500, 5200}} // p99 of 3: index ⌊2·99/100⌋ = 1
	restart := chaos.Result{Semantics: chaos.SemanticsDurable, Workload: chaos.WorkloadAckWrite, Fault: chaos.FaultRedisRestart,
		Acknowledged: 5, Persisted: 4, Unrecovered: 1}
	tests := []struct {
		name      string
		scenarios []chaos.Result
		want      []string
		absent    []string
	}{
		{name: "with durable", scenarios: []chaos.Result{vanilla, durable, restart}, want: []string{
			"## Durable tasks: recovered, unrecovered, time to recovery",
			"| process | sigkill-lingering | 6 | 6 | 3 | 0 | 0 | 0 | 4500 | 4500 |",
			"| process | redis-restart | 5 | 4 | 0 | 1 | 0 | 0 | – | – |",
			"Under durable 1 of 11 acknowledged writes never landed and 0 landed twice; 3 were recovered, a median 4500 ms after their acknowledgement (p99 4500 ms).",
			"ack-write runs a third time with its write in a durable task",
		}},
		{name: "without durable", scenarios: []chaos.Result{vanilla}, absent: []string{"Durable tasks", "Under durable", "durable task"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := render([]chaos.Report{{Seed: 1, Backend: chaos.BackendProcess, Scenarios: tt.scenarios}})
			readme := string(files[0].data)
			for _, w := range tt.want {
				assert.Contains(t, readme, w)
			}
			for _, a := range tt.absent {
				assert.NotContains(t, readme, a)
			}
		})
	}
}
