// Package sdk is the Go SDK for Epilogue actions: an action answers as soon
// as it can, and the platform reclaims its instance only when the work it
// started after answering is done.
//
// An action is a main package whose main calls Run with a handler:
//
//	func main() {
//		sdk.Run(func(ctx context.Context, in struct{ ID string `json:"id"` }) (map[string]any, error) {
//			// Tracked work: awaited automatically after the response.
//			sdk.Go(ctx, "redis SET "+in.ID, func(ctx context.Context) error {
//				return rdb.Set(ctx, "id:"+in.ID, "1", 0).Err()
//			})
//			return map[string]any{"accepted": true}, nil // the response goes out now
//		})
//	}
//
// Build it with `epilogue build DIR -o action.zip` and create it with
// `wsk action create NAME --docker epilogue/action-go action.zip`.
//
// # When is an activation done?
//
// After its response, when all of these have ended:
//   - the handler (it may answer early with Respond and keep running);
//   - every piece of work started with Go;
//   - every Work from Track (a DB call, a queue publish; Closer wraps any io.Closer);
//   - every HTTP request sent through HTTPClient or Transport, until its body is closed;
//   - the explicit done callback from Done, if the handler asked for one (the
//     paper's end()).
//
// Errors and panics in tracked work never crash the process; they are
// reported as the activation's post-response errors, and the activation is
// marked failed. At the deadline the activation's context is cancelled and
// the activation is reported expired with the names of the work that did not
// finish.
//
// Goroutines the handler starts without tracking them are noticed: when the
// response goes out, goroutines created since the activation began (outside
// the standard library and this package) that are still running are reported
// with a stack sample, in /epilogue/status and on the logs. With the Strict
// option they also count as pending until they exit. A library that starts
// long-lived goroutines of its own when a client is created (go-redis does)
// is excluded with IgnoreGoroutines.
//
// # Durable tasks
//
// Work that must survive its container is a task: Task registers it before
// Run, Start stores its intent in Redis (EPILOGUE_TASKS_REDIS) before
// returning and runs it as tracked work, retried with backoff and then
// dead-lettered. Near the deadline a task is handed back and continued in a
// new activation from its last Checkpoint; a recoverer (epilogue tasks
// recover) re-invokes the action when the container went away. Execution
// is at-least-once: key effects by TaskID. See docs/durable.md.
//
// Under the upstream ActionLoop proxy (no Epilogue extension) the same binary
// works as a plain ActionLoop action: it is done at its response, and it says
// so once on stderr.
package sdk
