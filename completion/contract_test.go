package completion

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContractIsTheDocumentedWire pins the runtime's contract to the
// values its users (the README, an operator's invoker, runtimes of other
// versions) rely on: renaming a constant is free, changing its value is a
// protocol change.
func TestContractIsTheDocumentedWire(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{RuntimePort, "8080"},
		{InitPath, "/init"},
		{RunPath, "/run"},
		{StatusPath, "/epilogue/status"},
		{AwaitPath, "/epilogue/await"},
		{AwaitActivationParam, "activation"},
		{AwaitTimeoutParam, "timeout"},
		{HeaderActivation, "X-Epilogue-Activation"},
		{HeaderPhase, "X-Epilogue-Phase"},
		{SignatureHeader, "X-Epilogue-Signature"},
		{EnvListen, "EPILOGUE_LISTEN"},
		{EnvListenFD, "EPILOGUE_LISTEN_FD"},
		{EnvSemantics, "EPILOGUE_SEMANTICS"},
		{EnvNotifyURL, "EPILOGUE_NOTIFY_URL"},
		{EnvNotifyToken, "EPILOGUE_NOTIFY_TOKEN"},
		{EnvInstance, "EPILOGUE_INSTANCE"},
		{EnvActionDir, "EPILOGUE_ACTION_DIR"},
		{EnvDrainTimeout, "EPILOGUE_DRAIN_TIMEOUT"},
		{EnvBusyPoll, "EPILOGUE_BUSY_POLL"},
		{EnvSysmon, "EPILOGUE_SYSMON"},
		{EnvSysmonFDs, "EPILOGUE_SYSMON_FDS"},
		{SysmonPoll, "poll"},
		{SysmonSleep, "sleep"},
		{EnvWaitForAck, "OW_WAIT_FOR_ACK"},
		{EnvLogInitError, "OW_LOG_INIT_ERROR"},
		{EnvExecutionEnv, "OW_EXECUTION_ENV"},
		{ProtocolActionLoop, "actionloop"},
		{ProtocolExtension, "epilogue/1"},
		{string(Isolated), "isolated"},
		{string(Overlap), "overlap"},
	} {
		assert.Equal(t, tt.want, tt.got)
	}
}

func TestParseSemantics(t *testing.T) {
	tests := []struct {
		name, in string
		want     Semantics
		wantErr  string
	}{
		{"empty is isolated", "", Isolated, ""},
		{"isolated", "isolated", Isolated, ""},
		{"overlap", "overlap", Overlap, ""},
		{"unknown names both", "strict", "", `unknown semantics "strict": use "isolated" or "overlap"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSemantics(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
