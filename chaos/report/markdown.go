package report

import (
	"regexp"
	"strings"
)

// mdEscaper makes names and messages from the reports plain text in
// Markdown: no HTML, no emphasis or links, no table cell breaks.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`,
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "\r\n", " ", "\n", " ", "\r", " ",
)

func md(s string) string { return mdEscaper.Replace(s) }

// code is s as a code span. A code span shows backslashes literally, so
// backticks (which would end it) are dropped instead of escaped; "|" is
// escaped all the same, because a table cell ends there before code spans
// are read.
func code(s string) string {
	return "`" + strings.NewReplacer("`", "", "|", `\|`, "\n", " ").Replace(s) + "`"
}

// figure matches a cell that reads as a number: digits, a count triple
// (3/0/1), a dash or "not measured".
var figure = regexp.MustCompile(`^([0-9][0-9./–]*|–|` + notMeasured + `)$`)

// mdTable renders a table: columns of figures right-aligned, so that their
// digits line up, the others left-aligned.
func mdTable(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	for col := range header {
		align := "--:"
		for _, r := range rows {
			if !figure.MatchString(r[col]) {
				align = "---"
				break
			}
		}
		b.WriteString("|" + align)
	}
	b.WriteString("|\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	b.WriteString("\n")
	return b.String()
}

func bullets(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("- " + l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// image embeds a chart, its alt text escaped.
func image(alt, file string) string {
	return "![" + md(alt) + "](" + file + ")\n\n"
}
