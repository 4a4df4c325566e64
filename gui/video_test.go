package gui

import (
	"net/url"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// Clicking a card opens the Video screen with the captured video's
// details: description, category, licence, language, tags, and its files
// (360p and 240p); the actions copy the link and a magnet, and open the
// browser; Escape goes back.
func TestVideoScreenShowsDetails(t *testing.T) {
	srv := peertubetest.NewCaptured(t)
	h := newHarness(t, srv, desktopSize)
	var opened []*url.URL
	h.ui.openURL = func(u *url.URL) error { opened = append(opened, u); return nil }
	h.waitLoaded("the catalog")

	test.Tap(h.card(0))
	if h.ui.screen != screenVideo {
		t.Fatalf("screen = %q after a click on a card", h.ui.screen)
	}
	s := h.ui.video
	if s.title.Text != "Interop test video" {
		t.Errorf("title = %q", s.title.Text)
	}
	h.waitFor("the details", func() bool { return !s.video.DetailsAt.IsZero() && !s.progress.Visible() })
	for _, want := range []string{
		"Interop test video", "A 10s testsrc video for interop testing",
		"Main root channel", srv.Host(),
		"Science & Technology", "Attribution", "English", "interop, test",
		"360p", "240p", "HLS", "Copy link", "Open in browser", "Copy magnet",
	} {
		if !h.screenShows(want) {
			t.Errorf("the Video screen does not show %q", want)
		}
	}
	// Play is offered, at the best resolution up to the 1080p default
	if s.play.Disabled() || s.download.Disabled() || s.copyStream.Disabled() {
		t.Errorf("Play %v, Download %v, Copy stream URL %v disabled for a video with files",
			s.play.Disabled(), s.download.Disabled(), s.copyStream.Disabled())
	}
	if !strings.HasPrefix(s.resPick.Selected, "360p") || len(s.resPick.Options) != 2 {
		t.Errorf("resolution picker: %q selected of %q, want 360p of 360p and 240p", s.resPick.Selected, s.resPick.Options)
	}
	if !strings.Contains(mutedText(s.playNote), "Ctrl+Enter") {
		t.Errorf("the keyboard hint is missing: %q", mutedText(s.playNote))
	}
	if !strings.Contains(mutedText(s.stats), "Published") || !strings.Contains(mutedText(s.stats), "0:10") {
		t.Errorf("stats line = %q", mutedText(s.stats))
	}
	h.waitFor("the preview image", func() bool { return s.preview.Image != nil && s.preview.Visible() })

	test.Tap(s.copyLink)
	if got := h.app.Clipboard().Content(); got != s.video.URL || !strings.Contains(got, srv.Host()) {
		t.Errorf("clipboard = %q, want the video URL %q", got, s.video.URL)
	}
	test.Tap(s.openBrowser)
	if len(opened) != 1 || opened[0].String() != s.video.URL {
		t.Errorf("opened %v, want %s", opened, s.video.URL)
	}
	magnet, ok := find(s.files, func(b *keyButton) bool { return b.Text == "Copy magnet" })
	if !ok {
		t.Fatal("no Copy magnet button")
	}
	test.Tap(magnet)
	if got := h.app.Clipboard().Content(); !strings.HasPrefix(got, "magnet:?") || !strings.Contains(got, "xt=urn:btih:") {
		t.Errorf("clipboard after Copy magnet = %q", got)
	}
	if !strings.Contains(mutedText(s.notice), "copied") {
		t.Errorf("no confirmation after copying: %q", mutedText(s.notice))
	}

	h.key(fyne.KeyEscape)
	if h.ui.screen != screenDiscover || !h.ui.discover.root.Visible() || s.root.Visible() {
		t.Fatalf("Escape did not go back: screen %q", h.ui.screen)
	}
}

// Details that cannot be fetched leave what the catalog knew on screen,
// with the error and a Retry.
func TestVideoScreenFetchError(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	name := h.ui.discover.items[0].Name
	srv.Close()
	h.ui.discover.open(0)
	s := h.ui.video
	h.waitFor("the error", func() bool { return s.banner.Visible() && !s.progress.Visible() })
	if s.title.Text != name || !strings.Contains(s.banner.Text(), "Could not load the details") {
		t.Errorf("title %q, banner %q", s.title.Text, s.banner.Text())
	}
	if !s.banner.action.Visible() {
		t.Errorf("no Retry")
	}
	// Alt+Left goes back too
	h.shortcut(shortcutBack)
	if h.ui.screen != screenDiscover {
		t.Errorf("Alt+Left did not go back")
	}
}
