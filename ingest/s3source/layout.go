package s3source

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Built-in key layouts below a source's prefix, written as CloudFront's
// standard logging v2 path templates. The legacy file name fits the same
// notation: <ID>.YYYY-MM-DD-HH.<unique>.gz.
//
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html
var builtinTemplates = []string{
	"{DistributionId}.{yyyy}-{MM}-{dd}-{HH}.",
	"DistributionId={DistributionId}/year={yyyy}/month={MM}/day={dd}/hour={HH}/",
	"distributionid={DistributionId}/year={yyyy}/month={MM}/day={dd}/hour={HH}/",
	"{DistributionId}/{yyyy}/{MM}/{dd}/{HH}/",
}

// timeTemplates are v2 layouts whose path does not name the distribution:
// a prefix that points inside one distribution's folder, or a suffix path
// of the source's choosing. The ID then comes from the file name, or is
// the source's only distribution.
var timeTemplates = []string{
	"{yyyy}/{MM}/{dd}/{HH}/",
	"year={yyyy}/month={MM}/day={dd}/hour={HH}/",
}

// level says how much of a template's time part is filled in.
type level int

const (
	levelID   level = iota // up to the first time variable
	levelYear              // up to the first variable after {yyyy}
	levelDay               // up to the first {HH}
	levelHour              // up to the first unknown variable
)

// template is a parsed path template: literal text and variable names
// alternating, variables marked by braces in the source text.
type template struct {
	text  string
	parts []tmplPart
	// re matches a key (relative to the source's prefix) that the template
	// produces, capturing the variables named in vars.
	re   *regexp.Regexp
	vars []string
	// seg matches the template's first folder, up to the first slash;
	// nil when the template has no slash.
	seg *regexp.Regexp
}

type tmplPart struct {
	lit      string
	variable string // without braces; empty for a literal
}

func parseTemplate(s string) (template, error) {
	t := template{text: s}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.parts = append(t.parts, tmplPart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return template{}, fmt.Errorf("path template %q: unclosed {", s)
		}
		name := rest[i+1 : i+j]
		if name == "" {
			return template{}, fmt.Errorf("path template %q: empty variable", s)
		}
		t.parts = append(t.parts, tmplPart{variable: name})
		rest = rest[i+j+1:]
	}
	var re, seg strings.Builder
	re.WriteString("^")
	segDone := false
	for _, p := range t.parts {
		if p.variable == "" {
			re.WriteString(regexp.QuoteMeta(p.lit))
			if !segDone {
				if i := strings.IndexByte(p.lit, '/'); i >= 0 {
					seg.WriteString(re.String()[:re.Len()-len(regexp.QuoteMeta(p.lit))])
					seg.WriteString(regexp.QuoteMeta(p.lit[:i+1]))
					seg.WriteString("$")
					segDone = true
				}
			}
			continue
		}
		v := strings.ToLower(p.variable)
		switch v {
		case "distributionid":
			re.WriteString(`([A-Za-z0-9]{1,64})`)
		case "yyyy":
			re.WriteString(`(\d{4})`)
		case "mm", "dd", "hh":
			re.WriteString(`(\d{2})`)
		default:
			// A variable cflens does not interpret (an account ID, a
			// custom folder): anything within one path segment.
			re.WriteString(`([^/]*)`)
		}
		t.vars = append(t.vars, v)
	}
	var err error
	if t.re, err = regexp.Compile(re.String()); err != nil {
		return template{}, fmt.Errorf("path template %q: %w", s, err)
	}
	if segDone {
		if t.seg, err = regexp.Compile(seg.String()); err != nil {
			return template{}, fmt.Errorf("path template %q: %w", s, err)
		}
	}
	return t, nil
}

// folder reports whether a folder (a common prefix of a delimited listing,
// relative to the source's prefix, ending in a slash) is the first folder
// of a key the template produces. It is false for templates whose keys
// have no folder.
func (t template) folder(p string) bool {
	return t.seg != nil && t.seg.MatchString(p)
}

// match reads the distribution ID and the hour from a key relative to the
// source's prefix. ok is false when the key does not follow the template;
// id is empty when the template names no distribution.
func (t template) match(rel string) (id string, hour time.Time, ok bool) {
	m := t.re.FindStringSubmatch(rel)
	if m == nil {
		return "", time.Time{}, false
	}
	var y, mo, d, h int
	var haveTime int
	for i, v := range t.vars {
		s := m[i+1]
		switch v {
		case "distributionid":
			id = s
		case "yyyy", "mm", "dd", "hh":
			n, err := strconv.Atoi(s)
			if err != nil {
				return "", time.Time{}, false
			}
			haveTime++
			switch v {
			case "yyyy":
				y = n
			case "mm":
				mo = n
			case "dd":
				d = n
			case "hh":
				h = n
			}
		}
	}
	// An hour needs all four time variables; a template without {HH}
	// narrows nothing below the day and its keys are not filtered by hour.
	if haveTime == 4 {
		hour = time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC)
		if hour.Year() != y || int(hour.Month()) != mo || hour.Day() != d || hour.Hour() != h {
			return "", time.Time{}, false
		}
	}
	return id, hour, true
}

// prefix expands the template for one distribution and hour, up to lvl,
// stopping at the first variable it cannot fill. The result is a key
// prefix: every key the template produces for that distribution and hour
// (or day) starts with it.
func (t template) prefix(id string, hour time.Time, lvl level) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.variable == "" {
			b.WriteString(p.lit)
			continue
		}
		var v string
		switch strings.ToLower(p.variable) {
		case "distributionid":
			v = id
		case "yyyy":
			if lvl < levelYear {
				return b.String()
			}
			v = fmt.Sprintf("%04d", hour.Year())
		case "mm":
			// {MM} is the month; CloudFront has no minute variable.
			if lvl < levelDay {
				return b.String()
			}
			v = fmt.Sprintf("%02d", int(hour.Month()))
		case "dd":
			if lvl < levelDay {
				return b.String()
			}
			v = fmt.Sprintf("%02d", hour.Day())
		case "hh":
			if lvl < levelHour {
				return b.String()
			}
			v = fmt.Sprintf("%02d", hour.Hour())
		default:
			return b.String()
		}
		b.WriteString(v)
	}
	return b.String()
}

// hasID reports whether the template names the distribution before its
// first time variable, so that a listing can be narrowed by ID alone.
func (t template) hasID() bool {
	for _, p := range t.parts {
		switch strings.ToLower(p.variable) {
		case "distributionid":
			return true
		case "yyyy", "mm", "dd", "hh":
			return false
		}
	}
	return false
}
