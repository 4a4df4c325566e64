package swarmbench

import (
	"testing"
	"time"
)

var fakeModTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"512 B", 512, false},
		{"1.5 KiB", 1536, false},
		{"95.0 MiB", 95 << 20, false},
		{"2.0 GiB", 2 << 30, false},
		{"12", 0, true},
		{"x MiB", 0, true},
		{"-1 B", 0, true},
		{"3 MB", 0, true},
	} {
		got, err := ParseSize(tc.in)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseGetSources(t *testing.T) {
	log := "fourmi: getting v.mp4 (abc)\nfourmi: complete and verified, 80.0 MiB from the web seed, 15.5 MiB from peers\nfourmi: seeding for 2m0s\n"
	ws, ps, ok := ParseGetSources(log)
	if !ok || ws != 80<<20 || ps != int64(15.5*(1<<20)) {
		t.Errorf("ParseGetSources = %d, %d, %v", ws, ps, ok)
	}
	if _, _, ok := ParseGetSources("fourmi: getting v.mp4 (abc)\nfourmi: download failed: boom\n"); ok {
		t.Error("a failed download was read as complete")
	}
}

func TestMedianMax(t *testing.T) {
	s := time.Second
	if got := Median([]time.Duration{3 * s, 1 * s, 2 * s}); got != 2*s {
		t.Errorf("odd median %v", got)
	}
	in := []time.Duration{4 * s, 1 * s, 2 * s, 3 * s}
	if got := Median(in); got != 2500*time.Millisecond {
		t.Errorf("even median %v", got)
	}
	if in[0] != 4*s {
		t.Error("Median sorted its argument in place")
	}
	if Max(in) != 4*s || Max(nil) != 0 || Median(nil) != 0 {
		t.Error("Max/empty")
	}
}
