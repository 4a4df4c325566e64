package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/library"
)

// "Watching & seeding" in Settings: the defaults show; negative numbers,
// words and empty fields are refused with a message under the field and
// nothing is saved; good values are saved through the library and read
// back by a new window; the max resolution and the player save at once.
func TestWatchSettings(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	ctx := context.Background()
	test.Tap(h.ui.navSettings)
	w := h.ui.settings.watch
	h.waitFor("the limits", func() bool { return w.ratio.entry.Text != "" })
	for f, want := range map[*numField]string{w.up: "0", w.down: "0", w.ratio: "2", w.days: "30", w.disk: "20"} {
		if f.entry.Text != want || f.err.Visible() {
			t.Errorf("%s shows %q (error %v), want the default %q", f.what, f.entry.Text, f.err.Visible(), want)
		}
	}
	if w.maxRes.Selected != "1080p" || w.player.Selected != "Automatic (mpv, then VLC)" || w.save.Disabled() {
		t.Errorf("max resolution %q, player %q, Save disabled %v", w.maxRes.Selected, w.player.Selected, w.save.Disabled())
	}
	for _, want := range []string{"Watching & seeding", "Upload limit", "Disk budget", "MB/s", "days after it completes"} {
		if !h.screenShows(want) {
			t.Errorf("Settings does not show %q", want)
		}
	}

	// bad input: an inline message per field, Save disabled, nothing saved
	for _, tc := range []struct {
		f        *numField
		in, want string
	}{
		{w.up, "-5", "Must be 0 or more"},
		{w.ratio, "abc", "“abc” is not a number"},
		{w.days, "", "Enter a number"},
		{w.disk, "1e300", "at most"},
	} {
		test.Type(tc.f.entry, "x") // typed, as the user does, then replaced
		tc.f.entry.SetText(tc.in)
		if !tc.f.err.Visible() || !strings.Contains(tc.f.err.Text, tc.want) || !h.screenShows(tc.f.err.Text) {
			t.Errorf("%s %q: message %v %q, want %q", tc.f.what, tc.in, tc.f.err.Visible(), tc.f.err.Text, tc.want)
		}
		if !w.save.Disabled() {
			t.Errorf("%s %q: Save stays enabled", tc.f.what, tc.in)
		}
	}
	w.up.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter refuses too
	h.settle(100 * time.Millisecond)
	if lim, err := h.lib.SeedLimits(ctx); err != nil || lim != library.DefaultSeedLimits {
		t.Fatalf("bad input reached the library: %+v, %v", lim, err)
	}

	// good values
	w.up.entry.SetText("1.5")
	w.down.unit.SetSelected("KB/s")
	w.down.entry.SetText("500")
	w.ratio.entry.SetText("1,5")
	w.days.entry.SetText("7")
	w.disk.entry.SetText("2.5")
	for _, f := range w.fields() {
		if f.err.Visible() {
			t.Errorf("%s: message %q for a good value", f.what, f.err.Text)
		}
	}
	if w.save.Disabled() {
		t.Fatal("Save disabled with good values")
	}
	test.Tap(w.save)
	want := library.SeedLimits{UploadRate: 3 << 19, DownloadRate: 500 << 10, RatioTarget: 1.5,
		SeedFor: 7 * 24 * time.Hour, DiskBudget: 5 << 29}
	h.waitFor("the limits saved", func() bool {
		lim, err := h.lib.SeedLimits(ctx)
		return err == nil && lim == want && mutedText(w.note) == "Saved."
	})
	w.maxRes.SetSelected("720p")
	w.player.SetSelected("VLC")
	h.waitFor("the pickers saved", func() bool {
		r, _, _ := h.lib.Setting(ctx, library.SettingMaxResolution)
		p, _, _ := h.lib.Setting(ctx, library.SettingPlayer)
		return r == "720" && p == "vlc"
	})

	// a new window reads them back
	u2 := New(h.app, h.lib, testLogger())
	u2.do = h.loop.post
	t.Cleanup(u2.Close)
	u2.showScreen(screenSettings)
	w2 := u2.settings.watch
	h.waitFor("the limits read back", func() bool { return w2.ratio.entry.Text != "" && w2.maxRes.Selected == "720p" })
	for f, want := range map[*numField]string{w2.up: "1.5 MB/s", w2.down: "500 KB/s", w2.ratio: "1.5", w2.days: "7", w2.disk: "2.5"} {
		got := f.entry.Text
		if f.unit != nil {
			got += " " + f.unit.Selected
		}
		if got != want {
			t.Errorf("read back %s = %q, want %q", f.what, got, want)
		}
	}
	if w2.player.Selected != "VLC" {
		t.Errorf("read back player %q", w2.player.Selected)
	}
	// the Video screen's default follows the new max resolution
	if got := readMaxResolution(ctx, h.lib); got != 720 {
		t.Errorf("readMaxResolution = %d", got)
	}
}
