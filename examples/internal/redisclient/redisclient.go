// Package redisclient gives the examples one go-redis client per server for
// the life of the action process (an action process serves many
// activations, and each client keeps a connection pool), and picks the
// server the way every example does.
package redisclient

import (
	"os"
	"sync"

	"github.com/redis/go-redis/v9"
)

// DefaultAddr is the server when neither the parameter nor REDIS_ADDR names one.
const DefaultAddr = "127.0.0.1:6379"

var (
	mu      sync.Mutex
	clients = map[string]*redis.Client{} // guarded by mu
)

// For returns the client of the server param names: the parameter, else
// the REDIS_ADDR environment variable (e.g. from the action's init env),
// else DefaultAddr.
func For(param string) *redis.Client {
	addr := param
	if addr == "" {
		addr = os.Getenv("REDIS_ADDR")
	}
	if addr == "" {
		addr = DefaultAddr
	}
	mu.Lock()
	defer mu.Unlock()
	c, ok := clients[addr]
	if !ok {
		c = redis.NewClient(&redis.Options{Addr: addr})
		clients[addr] = c
	}
	return c
}
