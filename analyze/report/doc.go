// Package report renders an analysis (analyze.Result) for people: an
// aligned terminal table, Markdown for issues and wikis, one CSV file per
// table, the JSON contract, and a self-contained HTML page with inline SVG
// charts, plus index pages that link the reports of a batch.
//
// Every string in a Result may come from a log (paths, result types) or
// from a hand-edited JSON file, so each renderer treats all of them as
// untrusted: control characters are replaced on terminals, Markdown
// punctuation is escaped, CSV string cells are protected against formula
// injection, and HTML goes through html/template under a strict
// Content-Security-Policy with no script at all.
//
// Output is stable: fixed order, fixed number formats and RFC 3339 UTC
// times, so two renderings of one Result are identical byte for byte.
//
// The package imports analyze and the standard library only; it does no
// file I/O besides writing to the writers it is given.
package report
