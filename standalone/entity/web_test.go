package entity

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAnnotationIsTrue: only the JSON value true is true, as the
// controller's getAs[Boolean] reads an annotation.
func TestAnnotationIsTrue(t *testing.T) {
	for _, tt := range []struct {
		value string // "" = absent
		want  bool
	}{
		{"true", true},
		{" true ", true},
		{"false", false},
		{`"true"`, false},
		{"1", false},
		{"null", false},
		{"", false},
	} {
		t.Run(tt.value, func(t *testing.T) {
			var a Action
			if tt.value != "" {
				a.Annotations = KeyValues{{Key: AnnotationWebExport, Value: json.RawMessage(tt.value)}}
			}
			assert.Equal(t, tt.want, a.AnnotationIsTrue(AnnotationWebExport))
		})
	}
}
