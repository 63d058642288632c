package analyze

import (
	"encoding/json"
	"fmt"
	"io"
)

// Text, Markdown, CSV and HTML renderings are in package analyze/report.

// WriteJSON writes the result as indented JSON (the cflens.analysis/v1
// contract). The output is deterministic: fields in a fixed order, map
// keys sorted, times in RFC 3339 UTC.
func WriteJSON(w io.Writer, res *Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode analysis: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write analysis: %w", err)
	}
	return nil
}

// ReadJSON reads a result written by WriteJSON. A result of another
// schema than SchemaVersion is an error.
func ReadJSON(r io.Reader) (*Result, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read analysis: %w", err)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("decode analysis: %w", err)
	}
	if res.Schema != SchemaVersion {
		return nil, fmt.Errorf("analysis has schema %q, want %q", res.Schema, SchemaVersion)
	}
	return &res, nil
}
