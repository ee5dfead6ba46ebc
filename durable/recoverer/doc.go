// Package recoverer owns recovering durable tasks: it takes over intents
// whose lease expired in the task store (their container went away, or
// handed the task back at its deadline) and re-invokes their action through
// OpenWhisk's REST API (openwhisk-client-go, so any OpenWhisk will do, not
// only the standalone) with the reserved parameter that makes the SDK run
// the task instead of the handler. It is what `epilogue tasks recover`
// runs, and what `epilogue standalone` runs built in.
package recoverer
