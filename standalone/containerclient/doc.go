// Package containerclient is the invoker's side of the runtime contract: the
// HTTP client that sends POST /init and POST /run to one action container,
// as OpenWhisk's ContainerProxy does through ApacheBlockingContainerClient
// (OpenWhisk's ApacheBlockingContainerClient).
//
//	/init  {"value":{"name","main","binary","code","env"}}; a connection
//	       refused (or a connect that timed out) is retried every 50 ms
//	       until the time limit, because a container's proxy takes a moment
//	       to listen after it starts
//	/run   {"value":…,"namespace","action_name","action_version",
//	       "activation_id","transaction_id","deadline","api_key"}; never
//	       retried; the time limit bounds the whole exchange
//
// It returns what the container said (status, body capped at a payload
// limit, Epilogue's X-Epilogue-Phase) or a classified failure (ErrTimeout,
// ErrUnreachable); what that means for the activation record is the pool's
// business. It does not speak /epilogue/* (package completion does).
package containerclient
