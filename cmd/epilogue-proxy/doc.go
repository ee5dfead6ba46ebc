// Command epilogue-proxy is Epilogue's OpenWhisk action proxy. It is the
// entry point of the epilogue/action-go image and speaks the /init and /run
// contract on :8080, plus /epilogue/status and /epilogue/await.
//
// Configuration is by environment, as upstream's proxy:
//
//	EPILOGUE_LISTEN        host:port to listen on (default :8080)
//	EPILOGUE_LISTEN_FD     serve on this inherited, already listening socket instead
//	                       (how the standalone process backend starts proxies without port races)
//	EPILOGUE_SEMANTICS     isolated (default) or overlap
//	EPILOGUE_NOTIFY_URL    where to POST completion events (optional)
//	EPILOGUE_NOTIFY_TOKEN  HMAC-SHA256 key for X-Epilogue-Signature
//	EPILOGUE_INSTANCE      this runtime's name in status and events (default hostname)
//	EPILOGUE_ACTION_DIR    where /init unpacks code (default ./action)
//	OW_WAIT_FOR_ACK        wait for the action's ack (needed for the Epilogue extension)
//	OW_LOG_INIT_ERROR      log init errors and answer generically
//	OW_EXECUTION_ENV       require bin/exec.env to match
//	__OW_*                 passed to the action
//
// It owns reading that environment into a proxy.Config (and the inherited
// listener) and nothing else: the HTTP contract, the activation lifecycle
// and the action process are package proxy's and its subpackages'.
package main
