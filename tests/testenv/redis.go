package testenv

import (
	"errors"
	"testing"

	"github.com/epilogue-dev/epilogue/internal/redisserver"
)

// RequireRedis starts a real redis-server for the test, on a free loopback
// port, without persistence (its directory is a t.TempDir()), and returns its
// host:port once it answers PING. The server is killed when the test ends.
// Without redis-server in PATH the test is skipped, or fails under CI=true.
func RequireRedis(t testing.TB) (addr string) {
	t.Helper()
	return RequireRedisOn(t, "127.0.0.1")
}

// RequireRedisOn is RequireRedis with the server listening on host too (as
// well as on loopback), e.g. the Docker bridge's gateway address so that
// containers reach it; it returns host:port.
func RequireRedisOn(t testing.TB, host string) (addr string) {
	t.Helper()
	s := requireServer(t, redisserver.Start, host, t.TempDir())
	if s == nil {
		return ""
	}
	return s.Addr()
}

// RequireDurableRedis starts a real redis-server on loopback keeping an
// append-only file fsynced before every reply in dir (the durable-task
// store's recommended persistence). The test may kill it (Stop) and start
// another on the same dir, which loads what the first acknowledged. It is
// killed when the test ends; without redis-server the test is skipped, or
// fails under CI=true.
func RequireDurableRedis(t testing.TB, dir string) *redisserver.Server {
	t.Helper()
	return requireServer(t, redisserver.StartDurable, "127.0.0.1", dir)
}

func requireServer(t testing.TB, start func(host, dir string) (*redisserver.Server, error), host, dir string) *redisserver.Server {
	t.Helper()
	s, err := start(host, dir)
	if errors.Is(err, redisserver.ErrNotInstalled) {
		missing(t, "install it: apt-get install -y redis-server", "redis-server is not installed: %v", err)
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}
