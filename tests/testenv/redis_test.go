package testenv

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequireRedis starts a server, uses it, and checks that it is gone once
// the test that asked for it has ended.
func TestRequireRedis(t *testing.T) {
	var addr string
	t.Run("serves", func(t *testing.T) {
		addr = RequireRedis(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer func() { _ = rdb.Close() }()
		require.NoError(t, rdb.Set(ctx, "testenv:k", "v", 0).Err())
		got, err := rdb.Get(ctx, "testenv:k").Result()
		require.NoError(t, err)
		assert.Equal(t, "v", got)
		assert.Equal(t, "no", rdb.ConfigGet(ctx, "appendonly").Val()["appendonly"])
		assert.Empty(t, rdb.ConfigGet(ctx, "save").Val()["save"])
	})
	if t.Failed() || addr == "" {
		return
	}
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = conn.Close()
	}
	assert.Error(t, err, "the server outlived its test")
}

func TestRequireRedisHelper(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("run by TestRequireRedisMissing")
	}
	RequireRedis(t)
	t.Log("redis-server started")
}

// TestRequireRedisMissing checks that a missing redis-server skips without
// CI and fails with CI=true, saying how to install it.
func TestRequireRedisMissing(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{ci: "", wantFail: false, want: "--- SKIP: TestRequireRedisHelper"},
		{ci: "true", wantFail: true, want: "--- FAIL: TestRequireRedisHelper"},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			failed, out := runHelper(t, "TestRequireRedisHelper", "CI="+tc.ci, "PATH="+t.TempDir())
			assert.Equal(t, tc.wantFail, failed, "child output:\n%s", out)
			for _, w := range []string{tc.want, "redis-server is not installed"} {
				assert.True(t, strings.Contains(out, w), "child output lacks %q:\n%s", w, out)
			}
			if tc.wantFail {
				assert.Contains(t, out, "install it: apt-get install -y redis-server")
			}
		})
	}
}
