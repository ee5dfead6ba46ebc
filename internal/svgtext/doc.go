// Package svgtext estimates where the texts of an SVG chart land, for the
// tests that check a chart's labels stay inside the canvas and apart (the
// chaos report's and the keep-alive report's). SVG has no text metrics, so
// it estimates from the font size with advances on the wide side of DejaVu
// Sans and Arial. It does not draw anything; the standard library only.
package svgtext
