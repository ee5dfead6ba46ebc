package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCPUBudget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string // relative to the cgroup root
		want  float64
	}{
		{name: "no cgroup files", want: 4},
		{name: "v2 without quota", files: map[string]string{"cpu.max": "max 100000\n"}, want: 4},
		{name: "v2 half a CPU", files: map[string]string{"cpu.max": "50000 100000\n"}, want: 0.5},
		{name: "v2 two CPUs", files: map[string]string{"cpu.max": "200000 100000\n"}, want: 2},
		{name: "v2 quota above the CPUs", files: map[string]string{"cpu.max": "800000 100000\n"}, want: 4},
		{name: "v2 garbage", files: map[string]string{"cpu.max": "lots\n"}, want: 4},
		{name: "v1 without quota", files: map[string]string{"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, want: 4},
		{name: "v1 one and a half CPUs", files: map[string]string{"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, want: 1.5},
		{name: "v1 without a period", files: map[string]string{"cpu/cpu.cfs_quota_us": "150000\n"}, want: 4},
		{name: "v1 zero period", files: map[string]string{"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "0\n"}, want: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tc.files {
				path := filepath.Join(root, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
			}
			assert.InDelta(t, tc.want, cpuBudget(root, 4), 1e-9)
		})
	}
}
