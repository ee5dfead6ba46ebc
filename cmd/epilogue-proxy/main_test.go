package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/proxy"
)

func TestConfigFromEnv(t *testing.T) {
	cfg, err := configFromEnv([]string{
		"__OW_API_HOST=https://h.example/?a=b=c", "PATH=/bin", "OW_WAIT_FOR_ACK=1",
		"EPILOGUE_SEMANTICS=overlap", "EPILOGUE_LISTEN=127.0.0.1:9", "junk",
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"__OW_API_HOST": "https://h.example/?a=b=c"}, cfg.ActionEnv, "values containing '=' are kept whole")
	assert.True(t, cfg.WaitForAck)
	assert.Equal(t, proxy.Overlap, cfg.Semantics)
	assert.Equal(t, "127.0.0.1:9", cfg.Listen)

	_, err = configFromEnv([]string{"EPILOGUE_SEMANTICS=eventual"})
	assert.ErrorContains(t, err, `use "isolated" or "overlap"`)
}
