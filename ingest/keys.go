package ingest

import (
	"errors"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cflens/cflens/ingest/schema"
)

// ErrBadDistributionID is the error of an object whose name gives a
// distribution ID that schema.IsDistributionID refuses: the object is
// not read, and fails by name.
var ErrBadDistributionID = errors.New("not a distribution ID")

// KeyInfo is what an object's key tells about its content.
type KeyInfo struct {
	DistributionID string
	// Hour is the UTC hour named by the key (the hour in which the logged
	// requests happened), or zero.
	Hour time.Time
}

// legacyName matches CloudFront's file names: <ID>.YYYY-MM-DD-HH.<unique>[.gz].
var legacyName = regexp.MustCompile(`^([A-Za-z0-9]{1,64})\.(\d{4})-(\d{2})-(\d{2})-(\d{2})\.[^/]+$`)

// ParseKey reads the distribution ID and the hour from an object key. It
// knows the legacy name (prefix/E123.2025-09-10-08.abcd1234.gz), v2
// Hive-style paths (…/DistributionId=E123/year=2025/month=09/day=10/hour=08/…)
// and v2 templated paths holding the ID and yyyy/MM/dd/HH segments. ok is
// false when the key names neither a distribution nor an hour.
func ParseKey(key string) (info KeyInfo, ok bool) {
	base := path.Base(key)
	if m := legacyName.FindStringSubmatch(base); m != nil {
		if h, err := hourOf(m[2], m[3], m[4], m[5]); err == nil {
			return KeyInfo{DistributionID: m[1], Hour: h}, true
		}
	}
	segs := strings.Split(path.Dir(key), "/")
	hive := map[string]string{}
	for _, s := range segs {
		if k, v, found := strings.Cut(s, "="); found {
			hive[strings.ToLower(k)] = v
		}
	}
	if id := hive["distributionid"]; id != "" {
		info.DistributionID = id
	}
	if y, mo, d, h := hive["year"], hive["month"], hive["day"], hive["hour"]; y != "" && mo != "" && d != "" && h != "" {
		if t, err := hourOf(y, mo, d, h); err == nil {
			info.Hour = t
		}
	}
	if info.Hour.IsZero() {
		// Templated: four consecutive numeric segments yyyy/MM/dd/HH.
		for i := 0; i+3 < len(segs); i++ {
			if len(segs[i]) == 4 && len(segs[i+1]) == 2 && len(segs[i+2]) == 2 && len(segs[i+3]) == 2 {
				if t, err := hourOf(segs[i], segs[i+1], segs[i+2], segs[i+3]); err == nil {
					info.Hour = t
					break
				}
			}
		}
	}
	if info.DistributionID == "" {
		for _, s := range segs {
			if schema.IsDistributionID(s) {
				info.DistributionID = s
				break
			}
		}
	}
	return info, info.DistributionID != "" || !info.Hour.IsZero()
}

func hourOf(y, mo, d, h string) (time.Time, error) {
	var n [4]int
	for i, s := range []string{y, mo, d, h} {
		v, err := strconv.Atoi(s)
		if err != nil {
			return time.Time{}, err
		}
		n[i] = v
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], 0, 0, 0, time.UTC)
	if t.Year() != n[0] || int(t.Month()) != n[1] || t.Day() != n[2] || t.Hour() != n[3] {
		return time.Time{}, strconv.ErrRange
	}
	return t, nil
}
