package svgtext_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/internal/svgtext"
)

func TestBoxes(t *testing.T) {
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" font-size="10">
<text x="10" y="20">abcd</text>
<text x="100" y="20" text-anchor="middle" font-size="20" font-weight="bold">ab</text>
<text x="190" y="90" text-anchor="end">x</text>
</svg>`
	boxes, w, h, err := svgtext.Boxes([]byte(svg))
	require.NoError(t, err)
	assert.Equal(t, 200.0, w)
	assert.Equal(t, 100.0, h)
	require.Len(t, boxes, 3)
	tests := []struct {
		got  svgtext.Box
		want svgtext.Box
	}{
		{boxes[0], svgtext.Box{Text: "abcd", Left: 10, Top: 12, Right: 10 + 4*10*0.62, Bottom: 22.5}},
		{boxes[1], svgtext.Box{Text: "ab", Left: 100 - 14, Top: 4, Right: 100 + 14, Bottom: 25}},
		{boxes[2], svgtext.Box{Text: "x", Left: 190 - 6.2, Top: 82, Right: 190, Bottom: 92.5}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want.Text, tt.got.Text)
		assert.InDelta(t, tt.want.Left, tt.got.Left, 1e-9, tt.want.Text)
		assert.InDelta(t, tt.want.Top, tt.got.Top, 1e-9, tt.want.Text)
		assert.InDelta(t, tt.want.Right, tt.got.Right, 1e-9, tt.want.Text)
		assert.InDelta(t, tt.want.Bottom, tt.got.Bottom, 1e-9, tt.want.Text)
		assert.True(t, tt.got.Inside(w, h))
	}
	assert.True(t, boxes[0].Intersects(svgtext.Box{Left: 30, Top: 10, Right: 40, Bottom: 15}))
	assert.False(t, boxes[0].Intersects(boxes[1]))
	assert.False(t, boxes[0].Inside(20, 100))

	_, _, _, err = svgtext.Boxes([]byte(`<svg width="1" height="1" font-size="1"><text x="0" y="0" transform="rotate(90)">a</text></svg>`))
	assert.ErrorContains(t, err, "turned")
	_, _, _, err = svgtext.Boxes([]byte(`<svg width="1" height="1" font-size="1"><text x="a" y="0">a</text></svg>`))
	assert.ErrorContains(t, err, `<text x="a">`)
	_, _, _, err = svgtext.Boxes([]byte(`<svg width="1"`))
	assert.Error(t, err)
}
