package gui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0:00", 10 * time.Second: "0:10", 754 * time.Second: "12:34",
		3600 * time.Second: "1:00:00", 3723 * time.Second: "1:02:03", -time.Second: "0:00",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{
		0: "0 views", 1: "1 view", 999: "999 views", 1000: "1K views", 1234: "1.2K views",
		12345: "12K views", 999999: "999K views", 3_400_000: "3.4M views", 2_000_000_000: "2B views",
	} {
		if got := formatViews(n); got != want {
			t.Errorf("formatViews(%d) = %q, want %q", n, got, want)
		}
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		-time.Hour: "just now", 30 * time.Second: "just now", time.Minute: "1 minute ago",
		5 * time.Minute: "5 minutes ago", 2 * time.Hour: "2 hours ago", 3 * 24 * time.Hour: "3 days ago",
		20 * 24 * time.Hour: "2 weeks ago", 100 * 24 * time.Hour: "3 months ago", 800 * 24 * time.Hour: "2 years ago",
	} {
		if got := formatAge(now.Add(-d), now); got != want {
			t.Errorf("formatAge(-%v) = %q, want %q", d, got, want)
		}
	}
	if got := formatAge(time.Time{}, now); got != "" {
		t.Errorf("formatAge(zero) = %q", got)
	}
	if got := formatSize(34_200_000); got != "34 MB" {
		t.Errorf("formatSize = %q", got)
	}
	if got := formatSize(1_234_567); got != "1.2 MB" {
		t.Errorf("formatSize = %q", got)
	}
}

// Titles wrap on two lines at most, the second ending with "…" when cut.
func TestClampLines(t *testing.T) {
	test.NewTempApp(t)
	style := fyne.TextStyle{Bold: true}
	width := fyne.MeasureText("Mountain and forest, part", 14, style).Width + 1
	lines := clampLines("Short", width, 14, style, 2)
	if len(lines) != 1 || lines[0] != "Short" {
		t.Errorf("short title: %q", lines)
	}
	long := "Mountain and forest, part 12 of a very long series about everything that lives in the woods"
	lines = clampLines(long, width, 14, style, 2)
	if len(lines) != 2 || lines[0] != "Mountain and forest, part" || !strings.HasSuffix(lines[1], "…") {
		t.Fatalf("long title: %q", lines)
	}
	for _, l := range lines {
		if w := fyne.MeasureText(l, 14, style).Width; w > width {
			t.Errorf("line %q is %v wide, more than %v", l, w, width)
		}
	}
	lines = clampLines(strings.Repeat("W", 200), width, 14, style, 2)
	if len(lines) != 1 || !strings.HasSuffix(lines[0], "…") {
		t.Errorf("one huge word: %q", lines)
	}
}

// Descriptions keep their markdown, lose their images (shown as links,
// nothing third-party is loaded) and get their bare addresses linked.
func TestDescriptionMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "*No description.*",
		"See https://example.org/a.":             "See [https://example.org/a](https://example.org/a).",
		"https://x.org\nand (https://y.org)":     "[https://x.org](https://x.org)\nand (https://y.org)",
		"[site](https://example.org) **bold**":   "[site](https://example.org) **bold**",
		"![logo](https://tracker.example/p.png)": "[logo](https://tracker.example/p.png)",
	} {
		if got := descriptionMarkdown(in); got != want {
			t.Errorf("descriptionMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("example.org: this is not a PeerTube instance (it answered an HTML page)")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("library: fetching instance:example.org page 1: %w", cause), cause.Error()},
		{fmt.Errorf("cannot add example.org: %w", cause), cause.Error()},
		{fmt.Errorf("library: %w", fmt.Errorf("instance x: %w", errors.New("not found"))), "instance x: not found"},
		{errors.New("library: disk full"), "disk full"},
		{errors.New("something else"), "something else"},
	} {
		if got := errorText(tc.err); got != tc.want {
			t.Errorf("errorText(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
