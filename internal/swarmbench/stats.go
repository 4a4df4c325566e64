package swarmbench

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseSize reads a size as fourmi prints it ("512 B", "95.3 MiB").
func ParseSize(s string) (int64, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return 0, fmt.Errorf("size %q: no unit", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %q: not a number", s)
	}
	mult := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	return int64(v * mult), nil
}

var completeLine = regexp.MustCompile(`complete and verified, (.+) from the web seed, (.+) from peers`)

// ParseGetSources finds, in the stderr of `fourmi get`, how many bytes
// came from the web seed and from peers (rounded as printed). ok is
// false when the download did not report completion.
func ParseGetSources(stderr string) (fromWebSeed, fromPeers int64, ok bool) {
	m := completeLine.FindStringSubmatch(stderr)
	if m == nil {
		return 0, 0, false
	}
	ws, err1 := ParseSize(m[1])
	ps, err2 := ParseSize(m[2])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return ws, ps, true
}

// Median is the middle duration (the mean of the two middle ones for an
// even count); 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Max is the longest duration; 0 for none.
func Max(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Max(ds)
}
