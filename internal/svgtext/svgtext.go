package svgtext

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Text metrics: an average sans-serif character's advance per pixel of
// font size (bold is wider), and how far text reaches above and below its
// baseline.
const (
	RegularAdvance = 0.62
	BoldAdvance    = 0.7
	Ascent         = 0.8
	Descent        = 0.25
)

// Box is a text's estimated extent in SVG coordinates.
type Box struct {
	Text                     string
	Left, Top, Right, Bottom float64
}

func (b Box) String() string {
	return fmt.Sprintf("%q [%.1f,%.1f]–[%.1f,%.1f]", b.Text, b.Left, b.Top, b.Right, b.Bottom)
}

// Intersects says whether b and o overlap.
func (b Box) Intersects(o Box) bool {
	return b.Left < o.Right && o.Left < b.Right && b.Top < o.Bottom && o.Top < b.Bottom
}

// Inside says whether b lies within a width × height canvas.
func (b Box) Inside(width, height float64) bool {
	return b.Left >= 0 && b.Top >= 0 && b.Right <= width && b.Bottom <= height
}

// Boxes parses an SVG and estimates the box of every <text>, from its x, y,
// text-anchor, font-size (or the root's) and font-weight; it returns them
// with the canvas size. A turned text is an error: the charts keep every
// label level.
func Boxes(data []byte) (boxes []Box, width, height float64, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	rootSize := 0.0
	var cur *xml.StartElement
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return boxes, width, height, nil
		}
		if err != nil {
			return nil, 0, 0, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "svg":
				for _, a := range []struct {
					name string
					v    *float64
				}{{"width", &width}, {"height", &height}, {"font-size", &rootSize}} {
					if *a.v, err = number(tok, a.name); err != nil {
						return nil, 0, 0, err
					}
				}
			case "text":
				if attr(tok, "transform") != "" {
					return nil, 0, 0, errors.New("a turned label")
				}
				el := tok.Copy()
				cur = &el
			}
		case xml.EndElement:
			cur = nil
		case xml.CharData:
			if cur == nil {
				continue
			}
			b, err := box(*cur, string(tok), rootSize)
			if err != nil {
				return nil, 0, 0, err
			}
			boxes = append(boxes, b)
		}
	}
}

// box estimates the extent of s written by el.
func box(el xml.StartElement, s string, rootSize float64) (Box, error) {
	size := rootSize
	if attr(el, "font-size") != "" {
		v, err := number(el, "font-size")
		if err != nil {
			return Box{}, err
		}
		size = v
	}
	advance := RegularAdvance
	if attr(el, "font-weight") == "bold" {
		advance = BoldAdvance
	}
	x, err := number(el, "x")
	if err != nil {
		return Box{}, err
	}
	y, err := number(el, "y")
	if err != nil {
		return Box{}, err
	}
	w := float64(utf8.RuneCountInString(s)) * size * advance
	left := x
	switch attr(el, "text-anchor") {
	case "middle":
		left = x - w/2
	case "end":
		left = x - w
	}
	return Box{s, left, y - size*Ascent, left + w, y + size*Descent}, nil
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func number(el xml.StartElement, name string) (float64, error) {
	v, err := strconv.ParseFloat(attr(el, name), 64)
	if err != nil {
		return 0, fmt.Errorf("<%s %s=%q>: %w", el.Name.Local, name, attr(el, name), err)
	}
	return v, nil
}
