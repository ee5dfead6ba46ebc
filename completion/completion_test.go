package completion

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSignVerify(t *testing.T) {
	token, body := []byte("secret"), []byte(`{"type":"quiescent"}`)
	sig := Sign(token, body)
	tests := []struct {
		name  string
		token []byte
		body  []byte
		sig   string
		want  bool
	}{
		{"valid", token, body, sig, true},
		{"wrong token", []byte("other"), body, sig, false},
		{"tampered body", token, []byte(`{"type":"phase"}`), sig, false},
		{"missing prefix", token, body, sig[len("sha256="):], false},
		{"not hex", token, body, "sha256=zz", false},
		{"empty", token, body, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Verify(tt.token, tt.body, tt.sig))
		})
	}
}
