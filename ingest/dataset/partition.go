package dataset

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Partition is one Hive partition of the dataset: a distribution and an
// hour (UTC) in which requests happened.
type Partition struct {
	DistributionID string
	Hour           time.Time
}

// UnknownDistribution is the partition value for rows whose distribution
// is not known (neither the object name nor the configuration named it).
const UnknownDistribution = "unknown"

// Dir returns the partition's folder, without a trailing slash:
// distributionid=E123/year=2025/month=09/day=10/hour=08.
func (p Partition) Dir() string {
	h := p.Hour.UTC()
	id := p.DistributionID
	if id == "" {
		id = UnknownDistribution
	}
	return fmt.Sprintf("distributionid=%s/year=%04d/month=%02d/day=%02d/hour=%02d",
		id, h.Year(), int(h.Month()), h.Day(), h.Hour())
}

func (p Partition) String() string { return p.Dir() }

// ParsePartition reads the partition from a key such as
// distributionid=E1/year=2025/month=09/day=10/hour=08/x.parquet. ok is
// false when the key does not hold all five segments.
func ParsePartition(key string) (p Partition, ok bool) {
	var y, mo, d, h = -1, -1, -1, -1
	for _, seg := range strings.Split(path.Dir(key), "/") {
		k, v, found := strings.Cut(seg, "=")
		if !found {
			continue
		}
		if strings.EqualFold(k, "distributionid") {
			p.DistributionID = v
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch strings.ToLower(k) {
		case "year":
			y = n
		case "month":
			mo = n
		case "day":
			d = n
		case "hour":
			h = n
		}
	}
	if p.DistributionID == "" || y < 0 || mo < 1 || d < 1 || h < 0 {
		return Partition{}, false
	}
	p.Hour = time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC)
	if p.Hour.Year() != y || int(p.Hour.Month()) != mo || p.Hour.Day() != d || p.Hour.Hour() != h {
		return Partition{}, false
	}
	return p, true
}

const msPerHour = int64(time.Hour / time.Millisecond)

// hourOfMillis returns the hour index (hours since the epoch) of a
// timestamp in milliseconds, rounding towards minus infinity.
func hourOfMillis(ms int64) int64 {
	h := ms / msPerHour
	if ms%msPerHour < 0 {
		h--
	}
	return h
}

func timeOfHour(h int64) time.Time { return time.UnixMilli(h * msPerHour).UTC() }
