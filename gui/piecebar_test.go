package gui

import (
	"image/color"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/library"
)

func bools(s string) []bool {
	out := make([]bool, len(s))
	for i, c := range s {
		out[i] = c == '#'
	}
	return out
}

// Pieces fold into columns as the fraction verified in each: evenly,
// unevenly, stretched when there are more columns than pieces, and empty
// before the torrent's metadata is known.
func TestCompressPieces(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pieces string
		n      int
		want   []float64
	}{
		{"one piece per column", "#.#.", 4, []float64{1, 0, 1, 0}},
		{"two pieces per column", "##..#.", 3, []float64{1, 0, 0.5}},
		{"uneven: 5 pieces in 2 columns", "###..", 2, []float64{1, 1.0 / 3}},
		{"all complete", "########", 3, []float64{1, 1, 1}},
		{"nothing yet", "........", 2, []float64{0, 0}},
		{"more columns than pieces", "#.", 4, []float64{1, 1, 0, 0}},
		{"no metadata yet", "", 3, []float64{0, 0, 0}},
		{"no columns", "##", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compressPieces(bools(tc.pieces), tc.n)
			if !slices.Equal(got, tc.want) {
				t.Errorf("compressPieces(%q, %d) = %v, want %v", tc.pieces, tc.n, got, tc.want)
			}
		})
	}
	// a large torrent: 10 000 pieces, the first 2 500 verified, in 100
	// columns: 25 full columns, the others empty
	many := make([]bool, 10000)
	for i := range 2500 {
		many[i] = true
	}
	cols := compressPieces(many, 100)
	for i, f := range cols {
		if want := float64(boolInt(i < 25)); f != want {
			t.Fatalf("column %d = %v, want %v", i, f, want)
		}
	}
}

// The bar draws complete columns in the accent colour, missing ones in the
// track colour and a half-verified column half-way, in light and dark.
func TestPieceBarDraws(t *testing.T) {
	app := test.NewTempApp(t)
	for _, mode := range []string{themeLight, themeDark} {
		app.Settings().SetTheme(newTheme(mode))
		b := newPieceBar()
		b.set(bools("####....#."))
		track, fill := b.colors()
		img := b.image(5, 3) // 2 pieces per pixel column
		want := []color.Color{fill, fill, track, track, mix(track, fill, 0.5)}
		for x, w := range want {
			for y := range 3 {
				if got := img.At(x, y); !sameColor(got, w) {
					t.Errorf("%s: pixel (%d,%d) = %v, want %v", mode, x, y, got, w)
				}
			}
		}
		if sameColor(track, fill) {
			t.Errorf("%s: track and fill are the same colour", mode)
		}
		// the caller's slice is copied
		p := bools("##")
		b.set(p)
		p[0] = false
		if !b.pieces[0] {
			t.Errorf("the bar kept the caller's slice")
		}
	}
}

func TestWatchFormats(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 512: "512 B", 1024: "1 KB", 3500: "3.4 KB", 120 << 20: "120 MB", 3 << 29: "1.5 GB",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for r, want := range map[float64]string{0: "0 B/s", 0.5: "0 B/s", 1536: "1.5 KB/s", 2 << 20: "2 MB/s"} {
		if got := formatRate(r); got != want {
			t.Errorf("formatRate(%v) = %q, want %q", r, got, want)
		}
	}
	for f, want := range map[float64]string{0: "0 %", 0.999: "99 %", 1: "100 %", 0.42: "42 %"} {
		if got := formatPercent(f); got != want {
			t.Errorf("formatPercent(%v) = %q, want %q", f, got, want)
		}
	}
	st := library.TransferStats{Size: 10 << 20, Completed: 5 << 20, Peers: 3, Seeders: 1}
	if got := progressText(st); got != "50 % · 5 MB of 10 MB" {
		t.Errorf("progressText = %q", got)
	}
	if got := peersText(st); got != "3 (1 seeder)" {
		t.Errorf("peersText = %q", got)
	}
	if got := limitsText(library.DefaultSeedLimits); got != "Upload unlimited · download unlimited · seed until ratio 2, for 30 days · 20 GB of disk" {
		t.Errorf("limitsText(defaults) = %q", got)
	}
	lim := library.SeedLimits{UploadRate: 512 << 10, SeedFor: 24 * time.Hour}
	if got := limitsText(lim); got != "Upload 512 KB/s · download unlimited · seed no ratio target, for 1 day · no disk budget" {
		t.Errorf("limitsText = %q", got)
	}
}

// The resolution picker offers each height once, best first, and picks
// the best not above the setting (the smallest when all are above).
func TestDefaultResolution(t *testing.T) {
	files := []library.VideoFile{{Resolution: 480}, {Resolution: 1080, HLS: true}, {Resolution: 0}, {Resolution: 1080}, {Resolution: 240}}
	res := playableResolutions(files)
	if !slices.Equal(res, []int{1080, 480, 240}) {
		t.Fatalf("playableResolutions = %v", res)
	}
	for maxRes, want := range map[int]int{2160: 1080, 1080: 1080, 720: 480, 480: 480, 360: 240, 144: 240} {
		if got := defaultResolution(res, maxRes); got != want {
			t.Errorf("defaultResolution(≤%d) = %d, want %d", maxRes, got, want)
		}
	}
	if got := defaultResolution(nil, 1080); got != 0 {
		t.Errorf("no files: %d", got)
	}
}

// Limits typed in Settings: numbers ≥ 0 with a point or a comma; anything
// else is refused with the message shown under the field.
func TestParseLimit(t *testing.T) {
	for in, want := range map[string]float64{"0": 0, "2": 2, " 1.5 ": 1.5, "2,5": 2.5, "1e3": 1000} {
		if got, err := parseLimit(in); err != nil || got != want {
			t.Errorf("parseLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"": "Enter a number (0 means no limit)", "-1": "Must be 0 or more (0 means no limit)",
		"abc": "“abc” is not a number", "NaN": "“NaN” is not a number", "Inf": "“Inf” is not a number",
		"1..2": "“1..2” is not a number",
	} {
		if _, err := parseLimit(in); err == nil || err.Error() != msg {
			t.Errorf("parseLimit(%q) error = %v, want %q", in, err, msg)
		}
	}
}
