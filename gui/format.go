package gui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// formatDuration writes a video length as m:ss, or h:mm:ss from an hour.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	h, m, sec := s/3600, (s/60)%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// formatViews writes a view count the way video sites do: "1 view",
// "999 views", "1.2K views", "12K views", "3.4M views".
func formatViews(n int64) string {
	switch {
	case n == 1:
		return "1 view"
	case n < 1000:
		return strconv.FormatInt(max(n, 0), 10) + " views"
	case n < 1_000_000:
		return compact(float64(n)/1e3) + "K views"
	case n < 1_000_000_000:
		return compact(float64(n)/1e6) + "M views"
	default:
		return compact(float64(n)/1e9) + "B views"
	}
}

// compact keeps one decimal below 10 (1.2) and none above (12), without
// rounding up past what the number is (999 999 is 999K, not 1000K).
func compact(x float64) string {
	if x < 10 {
		t := float64(int64(x*10)) / 10
		return strings.TrimSuffix(strconv.FormatFloat(t, 'f', 1, 64), ".0")
	}
	return strconv.FormatInt(int64(x), 10)
}

// formatAge writes how long ago t was: "just now", "5 minutes ago",
// "1 hour ago", "3 days ago", "2 weeks ago", "4 months ago", "1 year ago".
// A time in the future (clock skew between servers) reads "just now".
func formatAge(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s ago"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int64(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int64(d/time.Hour), "hour")
	case d < 14*24*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day")
	case d < 60*24*time.Hour:
		return plural(int64(d/(7*24*time.Hour)), "week")
	case d < 365*24*time.Hour:
		return plural(int64(d/(30*24*time.Hour)), "month")
	default:
		return plural(int64(d/(365*24*time.Hour)), "year")
	}
}

// formatSize writes a file size in megabytes ("34.2 MB"), which is how
// PeerTube shows it too.
func formatSize(n int64) string {
	mb := float64(n) / 1e6
	if mb < 10 {
		return strconv.FormatFloat(mb, 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(mb, 'f', 0, 64) + " MB"
}

// formatDate writes a publication date ("1 November 2026").
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2 January 2006")
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// errorText is an error as the user reads it: the library's own context
// ("library: fetching instance:host page 1: …", "cannot add host: …") is
// dropped when what it wraps already says it, so the cause is what shows.
func errorText(err error) string {
	msg := err.Error()
	if in := errors.Unwrap(err); in != nil && strings.HasSuffix(msg, ": "+in.Error()) &&
		(strings.HasPrefix(msg, "library: ") || strings.HasPrefix(msg, "cannot add ")) {
		return errorText(in)
	}
	return strings.TrimPrefix(msg, "library: ")
}

// Binary units for rates and limits: the seeding limits are whole binary
// units (the default disk budget is 20 GiB), and torrent clients count so.
const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// formatBytes writes an amount of data in binary units with the usual
// short names ("512 B", "3.4 KB", "120 MB", "1.5 GB").
func formatBytes(n int64) string {
	switch {
	case n < kib:
		return strconv.FormatInt(max(n, 0), 10) + " B"
	case n < mib:
		return oneDecimal(float64(n)/kib) + " KB"
	case n < gib:
		return oneDecimal(float64(n)/mib) + " MB"
	default:
		return oneDecimal(float64(n)/gib) + " GB"
	}
}

// formatRate writes a transfer rate ("0 B/s", "350 KB/s", "1.2 MB/s").
func formatRate(bps float64) string {
	if bps < 1 {
		return "0 B/s"
	}
	return formatBytes(int64(bps)) + "/s"
}

// oneDecimal keeps one decimal below 10 (3.4), none from 10 (120).
func oneDecimal(x float64) string {
	if x < 10 {
		return strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0")
	}
	return strconv.FormatFloat(x, 'f', 0, 64)
}

// formatRatio writes a share ratio with two decimals ("0.45", "2.00").
func formatRatio(r float64) string {
	return strconv.FormatFloat(max(r, 0), 'f', 2, 64)
}

// formatPercent writes a fraction as a whole percentage, never showing
// 100 % before it is complete.
func formatPercent(f float64) string {
	p := int(f * 100)
	if f >= 1 {
		p = 100
	}
	return strconv.Itoa(min(max(p, 0), 100)) + " %"
}

// formatNumber writes x with at most two decimals and no trailing zeros.
func formatNumber(x float64) string {
	s := strconv.FormatFloat(x, 'f', 2, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
