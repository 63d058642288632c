package main

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/cflens/cflens/cmd/internal/usage"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/logparse"
	"github.com/cflens/cflens/ingest/schema"
)

// sourceOptions are the flags that say which logs to read; ingest and
// analyze share them.
type sourceOptions struct {
	sources    []string // positional: paths, globs, s3:// URLs
	production []string // distribution IDs or sources
	staging    []string
	configFile string
	from, to   string
	workers    int
	format     string
	delimiter  string
	aws        awsOptions
	// log receives what sources say as they list (the datasets they
	// skip); nil discards it.
	log *slog.Logger
	// digests lists local files with a digest of their bytes as ETag,
	// which an ingest needs to tell a rewritten file from the one its
	// dataset holds; without them listing reads no file
	// (dirsource.WithoutDigests).
	digests bool
}

func bindSourceFlags(fs *pflag.FlagSet, o *sourceOptions) {
	fs.StringArrayVar(&o.production, "production", nil, "production distribution: its ID, or a source of its logs (path, glob, s3://bucket/prefix/); repeatable")
	fs.StringArrayVar(&o.staging, "staging", nil, "staging distribution: its ID, or a source of its logs; repeatable")
	fs.StringVar(&o.configFile, "config", "", "YAML file naming the distributions and their sources (see README)")
	fs.StringVar(&o.from, "from", "", "first time to take (RFC 3339, or YYYY-MM-DD[THH[:MM]], UTC)")
	fs.StringVar(&o.to, "to", "", "time to stop before (same forms as --from)")
	fs.IntVar(&o.workers, "workers", 0, "objects read at once (default: one per core for local files, four per core when any source is on S3)")
	fs.StringVar(&o.format, "format", "auto", "log format: auto (per object: legacy or v2 W3C, v2 JSON, v2 Parquet), w3c, json or parquet")
	fs.StringVar(&o.delimiter, "delimiter", "auto", "W3C field delimiter: auto (per #Fields header, the one of tab, |, ;, comma, space that fits its first record), tab, space, or one character")
	bindAWSFlags(fs, &o.aws)
}

// fileConfig is the optional YAML config file:
//
//	production: {id: E1EXAMPLE, source: s3://logs/cf/}
//	staging:    {id: E2EXAMPLE, source: s3://logs/cf/}
type fileConfig struct {
	Production roleConfig `yaml:"production"`
	Staging    roleConfig `yaml:"staging"`
}

type roleConfig struct {
	ID      string   `yaml:"id"`
	Source  string   `yaml:"source"`
	Sources []string `yaml:"sources"`
}

// resolvedSources is what the source flags come to.
type resolvedSources struct {
	sources  []ingest.Source
	roles    map[string]string // distribution ID → role
	from, to time.Time
	format   logparse.Format
	delim    byte // 0: detected
}

// setParse sets how the run reads log objects: their format and the W3C
// delimiter.
func (rs *resolvedSources) setParse(o *ingest.Options) {
	o.Format = rs.format
	o.Delimiter = rs.delim
}

// parseDelimiter reads --delimiter: auto (0), tab, space, or one
// printable ASCII character other than '#' (which starts header lines).
func parseDelimiter(s string) (byte, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return 0, nil
	case "tab", `\t`, "\t":
		return '\t', nil
	case "space", " ":
		return ' ', nil
	}
	if len(s) != 1 || s[0] < ' ' || s[0] > '~' || s[0] == '#' {
		return 0, fmt.Errorf("%q is not one printable character", s)
	}
	return s[0], nil
}

func resolveSources(ctx context.Context, o *sourceOptions) (*resolvedSources, error) {
	rs := &resolvedSources{roles: map[string]string{}}
	var err error
	if rs.from, err = timeFlag("from", o.from); err != nil {
		return nil, err
	}
	if rs.to, err = timeFlag("to", o.to); err != nil {
		return nil, err
	}
	if rs.format, err = logparse.ParseFormat(o.format); err != nil {
		return nil, usage.Errorf("formats are auto, w3c, json and parquet", "--format: %v", err)
	}
	if rs.delim, err = parseDelimiter(o.delimiter); err != nil {
		return nil, usage.Errorf("delimiters are auto, tab, space, or one character such as |", "--delimiter: %v", err)
	}
	if !rs.from.IsZero() && !rs.to.IsZero() && !rs.from.Before(rs.to) {
		return nil, usage.Errorf("", "--from %s is not before --to %s", o.from, o.to)
	}
	type spec struct{ src, role string }
	var specs []spec
	addRole := func(vals []string, role string) error {
		for _, v := range vals {
			if schema.IsDistributionID(v) {
				if prev, ok := rs.roles[v]; ok && prev != role {
					return usage.Errorf("", "distribution %s is given as both %s and %s", v, prev, role)
				}
				rs.roles[v] = role
				continue
			}
			specs = append(specs, spec{v, role})
		}
		return nil
	}
	if o.configFile != "" {
		b, err := os.ReadFile(o.configFile)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		var fc fileConfig
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&fc); err != nil {
			return nil, usage.Errorf("", "config %s: %v", o.configFile, err)
		}
		for role, rc := range map[string]roleConfig{schema.RoleProduction: fc.Production, schema.RoleStaging: fc.Staging} {
			vals := rc.Sources
			if rc.Source != "" {
				vals = append(vals, rc.Source)
			}
			if rc.ID != "" {
				vals = append(vals, rc.ID)
			}
			if err := addRole(vals, role); err != nil {
				return nil, err
			}
		}
	}
	if err := addRole(o.production, schema.RoleProduction); err != nil {
		return nil, err
	}
	if err := addRole(o.staging, schema.RoleStaging); err != nil {
		return nil, err
	}
	for _, s := range o.sources {
		specs = append(specs, spec{s, ""})
	}
	sort.SliceStable(specs, func(i, j int) bool { return specs[i].src < specs[j].src })
	for _, sp := range specs {
		src, err := openSource(ctx, sp.src, o, rs.roles)
		if err != nil {
			return nil, err
		}
		if sp.role != "" {
			src = roleSource{src, sp.role}
		}
		rs.sources = append(rs.sources, src)
	}
	if len(rs.sources) == 0 {
		return nil, usage.Errorf("give log sources as arguments, or as --production/--staging SRC", "no log source given")
	}
	return rs, nil
}

func openSource(ctx context.Context, spec string, o *sourceOptions, roles map[string]string) (ingest.Source, error) {
	if strings.HasPrefix(spec, "s3://") {
		a := o.aws
		a.log = o.log
		return newS3Source(ctx, spec, a, roles)
	}
	var opts []dirsource.Option
	if o.log != nil {
		opts = append(opts, dirsource.WithLogger(o.log))
	}
	if !o.digests {
		opts = append(opts, dirsource.WithoutDigests())
	}
	src, err := dirsource.New(spec, "", opts...)
	if err != nil {
		return nil, err
	}
	return src, nil
}

// roleSource gives every object of a source one role.
type roleSource struct {
	ingest.Source
	role string
}

func (s roleSource) List(ctx context.Context, from, to time.Time) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		for ref, err := range s.Source.List(ctx, from, to) {
			ref.Role = s.role
			if !yield(ref, err) {
				return
			}
		}
	}
}

// timeFlag reads the time given to the flag --name; what it cannot read
// is a usage error with the one hint on the forms of a time.
func timeFlag(name, s string) (time.Time, error) {
	t, err := parseTimeFlag(s)
	if err != nil {
		return t, usage.Errorf("times look like 2025-09-10 or 2025-09-10T08:00:00Z", "--%s: %v", name, err)
	}
	return t, nil
}

func parseTimeFlag(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read time %q", s)
}
