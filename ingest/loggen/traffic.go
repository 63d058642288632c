package loggen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// DefaultProbeShare is the share of requests of a realistic corpus that
// are scanner probes for paths seen once.
const DefaultProbeShare = 0.3

// realTraffic gives a corpus the cardinality of real traffic: thousands
// of paths with a long tail (Zipf-like weights), stale paths that always
// get 404, scanner probes for unique paths, query strings with tracking
// ids, user agents in many browser versions, and cookies.
type realTraffic struct {
	probeShare float64
	good, bad  picker[Path]
}

// Numbers of the realistic corpus's paths.
const (
	realGoodPaths = 6000
	realBadPaths  = 400
)

var (
	realSections = [...]string{"products", "blog", "docs", "help", "category", "store", "news", "account"}
	realWords    = [...]string{"blue", "widget", "red", "shoe", "guide", "install", "pricing", "summer", "sale", "faq",
		"release", "notes", "setup", "linux", "windows", "mac", "classic", "pro", "mini", "max", "travel", "kit"}
	realAssets = [...]struct{ dir, ext, ctype string }{
		{"assets", "js", "application/javascript"}, {"assets", "css", "text/css"},
		{"images", "webp", "image/webp"}, {"images", "jpg", "image/jpeg"}, {"images", "png", "image/png"},
		{"fonts", "woff2", "font/woff2"},
	}
	probePrefixes = [...]string{
		"/wp-admin/", "/wp-content/plugins/", "/.git/", "/cgi-bin/", "/vendor/phpunit/", "/admin/",
		"/backup/", "/.aws/", "/phpmyadmin/", "/api/v1/", "/xmlrpc/", "/old/",
	}
	probeSuffixes = [...]string{".php", ".env", ".bak", ".sql", ".zip", "", ".asp", ".json", ".tar.gz", ".yml"}
	cookieNames   = [...]string{"_ga", "_gid", "_fbp", "session", "consent", "cart", "ab_test", "_hjSessionUser", "locale", "csrftoken"}
	browserPlats  = [...]string{
		"Windows%20NT%2010.0;%20Win64;%20x64", "Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7",
		"X11;%20Linux%20x86_64", "Linux;%20Android%2014;%20SM-S918B", "Linux;%20Android%2013;%20Pixel%207",
		"iPhone;%20CPU%20iPhone%20OS%2017_5%20like%20Mac%20OS%20X", "iPad;%20CPU%20OS%2016_7%20like%20Mac%20OS%20X",
	}
)

func newRealTraffic(r *rand.Rand, probeShare float64) *realTraffic {
	word := func() string { return realWords[r.IntN(len(realWords))] }
	good := make([]Path, realGoodPaths)
	for i := range good {
		var p Path
		switch i % 5 {
		case 0, 1:
			p = Path{Path: fmt.Sprintf("/%s/%s-%s-%d", realSections[r.IntN(len(realSections))], word(), word(), i),
				ContentType: "text/html", Bytes: int64(8000 + r.IntN(40000))}
		case 2:
			p = Path{Path: fmt.Sprintf("/%s/%d/%02d/%s-%s", realSections[r.IntN(len(realSections))], 2015+r.IntN(11), 1+r.IntN(12), word(), word()),
				ContentType: "text/html", Bytes: int64(8000 + r.IntN(40000))}
		default:
			a := realAssets[r.IntN(len(realAssets))]
			p = Path{Path: fmt.Sprintf("/%s/%s-%s.%08x.%s", a.dir, word(), word(), r.Uint32(), a.ext),
				ContentType: a.ctype, Bytes: int64(2000 + r.IntN(300000))}
		}
		// A long tail: the path of rank k weighs 1/k.
		p.Weight = 1 / float64(i+1)
		good[i] = p
	}
	bad := make([]Path, realBadPaths)
	for i := range bad {
		bad[i] = Path{Path: fmt.Sprintf("/%s/%s-%s-%d-old", realSections[r.IntN(len(realSections))], word(), word(), i),
			Weight: 1 / math.Sqrt(float64(i+1))}
	}
	w := func(p Path) float64 { return p.Weight }
	return &realTraffic{probeShare: probeShare, good: newPicker(good, w), bad: newPicker(bad, w)}
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func appendRandom(b []byte, r *rand.Rand, chars string, n int) []byte {
	for range n {
		b = append(b, chars[r.IntN(len(chars))])
	}
	return b
}

// appendProbe appends a scanner's probe: a path seen once.
func (t *realTraffic) appendProbe(b []byte, r *rand.Rand) []byte {
	b = append(b, probePrefixes[r.IntN(len(probePrefixes))]...)
	b = appendRandom(b, r, alnum, 6+r.IntN(10))
	return append(b, probeSuffixes[r.IntN(len(probeSuffixes))]...)
}

// appendQuery appends cs-uri-query: none for most requests, else
// campaign parameters with click ids, a page number or a search.
func (t *realTraffic) appendQuery(b []byte, r *rand.Rand) []byte {
	switch x := r.IntN(100); {
	case x < 60:
		return append(b, '-')
	case x < 75:
		b = append(b, "utm_source=newsletter&utm_medium=email&utm_campaign=c"...)
		b = strconv.AppendInt(b, int64(r.IntN(400)), 10)
		b = append(b, "&fbclid="...)
		return appendRandom(b, r, alnum, 40)
	case x < 85:
		b = append(b, "page="...)
		return strconv.AppendInt(b, int64(1+r.IntN(50)), 10)
	case x < 93:
		b = append(b, "q="...)
		b = append(b, realWords[r.IntN(len(realWords))]...)
		b = append(b, "%20"...)
		return append(b, realWords[r.IntN(len(realWords))]...)
	default:
		b = append(b, "v="...)
		return appendRandom(b, r, alnum, 8)
	}
}

// appendUserAgent appends a browser's user agent in one of many versions.
func (t *realTraffic) appendUserAgent(b []byte, r *rand.Rand) []byte {
	b = append(b, "Mozilla/5.0%20("...)
	b = append(b, browserPlats[r.IntN(len(browserPlats))]...)
	if r.IntN(4) == 0 {
		b = append(b, ")%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17."...)
		b = strconv.AppendInt(b, int64(r.IntN(7)), 10)
		b = append(b, "%20Mobile/15E148%20Safari/604.1"...)
		return b
	}
	b = append(b, ")%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/"...)
	b = strconv.AppendInt(b, int64(118+r.IntN(12)), 10)
	b = append(b, ".0."...)
	b = strconv.AppendInt(b, int64(5000+r.IntN(1500)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(r.IntN(200)), 10)
	return append(b, "%20Safari/537.36"...)
}

// appendCookie appends cs(Cookie): none for a third of requests, else a
// few hundred bytes of analytics and session cookies.
func (t *realTraffic) appendCookie(b []byte, r *rand.Rand) []byte {
	if r.IntN(3) == 0 {
		return append(b, '-')
	}
	n := 2 + r.IntN(6)
	for i := range n {
		if i > 0 {
			b = append(b, ";%20"...)
		}
		b = append(b, cookieNames[r.IntN(len(cookieNames))]...)
		b = append(b, '=')
		b = appendRandom(b, r, alnum, 16+r.IntN(32))
	}
	return b
}
