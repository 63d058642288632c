package s3source

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Location is a bucket and a key prefix, as written s3://bucket/prefix/.
type Location struct {
	Bucket string
	// Prefix is the key prefix without a leading slash; when not empty it
	// ends with a slash, so that "logs" does not match "logs-old/".
	Prefix string
}

// ParseURL reads s3://bucket[/prefix[/]]. A prefix is taken as a folder: a
// missing trailing slash is added.
func ParseURL(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, fmt.Errorf("parse s3 url %q: %w", s, err)
	}
	if u.Scheme != "s3" {
		return Location{}, fmt.Errorf("parse s3 url %q: scheme must be s3://", s)
	}
	if u.Host == "" {
		return Location{}, fmt.Errorf("parse s3 url %q: %w", s, errors.New("no bucket"))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Port() != "" {
		return Location{}, fmt.Errorf("parse s3 url %q: want s3://bucket/prefix/ only", s)
	}
	if err := checkBucket(u.Host); err != nil {
		return Location{}, fmt.Errorf("parse s3 url %q: %w", s, err)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if strings.Contains(prefix, "//") {
		return Location{}, fmt.Errorf("parse s3 url %q: empty path segment", s)
	}
	if strings.ContainsFunc(prefix, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Location{}, fmt.Errorf("parse s3 url %q: control character in the prefix", s)
	}
	return Location{Bucket: u.Host, Prefix: prefix}, nil
}

// String returns the location as s3://bucket/prefix, the prefix
// escaped as a URL path so that the string parses back to the location
// (a key may hold '#', '?' or '%').
func (l Location) String() string {
	u := url.URL{Scheme: "s3", Host: l.Bucket, Path: "/" + l.Prefix}
	return u.String()
}

// checkBucket applies the general-purpose bucket naming rules
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)
// loosely: it catches typos, not every reserved name.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("bucket name %q: character %q not allowed", b, c)
		}
	}
	first, last := b[0], b[len(b)-1]
	if first == '-' || first == '.' || last == '-' || last == '.' {
		return fmt.Errorf("bucket name %q must begin and end with a letter or digit", b)
	}
	return nil
}
