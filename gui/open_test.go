package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// Ctrl+O opens "Open link" with the keyboard in its entry, also while the
// search entry has the keyboard; Escape closes it, from the entry, from
// its buttons, or with nothing focused; the sidebar button opens it too.
func TestOpenDialogKeyboard(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	c := h.ui.win.Canvas()

	open := func(how string) *openDialog {
		t.Helper()
		d := h.ui.openDlg
		if d == nil || d.closed || c.Overlays().Top() == nil || !h.screenShows("Open link") {
			t.Fatalf("%s did not open the dialog; screen %q", how, h.screenTexts())
		}
		if c.Focused() != fyne.Focusable(d.entry) {
			t.Fatalf("%s: focused %T, want the link entry", how, c.Focused())
		}
		return d
	}
	closed := func(how string, d *openDialog) {
		t.Helper()
		if !d.closed || h.ui.openDlg != nil || c.Overlays().Top() != nil {
			t.Fatalf("%s did not close the dialog", how)
		}
	}

	c.Unfocus()
	h.shortcut(shortcutOpen)
	d := open("Ctrl+O")
	h.key(fyne.KeyEscape)
	closed("Escape in the entry", d)

	c.Focus(h.ui.discover.search)
	h.shortcut(shortcutOpen)
	d = open("Ctrl+O in the search entry")
	c.Focus(d.open)
	h.key(fyne.KeyEscape)
	closed("Escape on the Open button", d)

	test.Tap(h.ui.openBtn)
	d = open("the Open link… button")
	c.Unfocus()
	h.key(fyne.KeyEscape)
	closed("Escape with nothing focused", d)
	if h.ui.screen != screenDiscover {
		t.Errorf("Escape in the dialog also left the screen: %q", h.ui.screen)
	}

	// Ctrl+O twice keeps one dialog
	h.shortcut(shortcutOpen)
	d = open("Ctrl+O")
	h.shortcut(shortcutOpen)
	if h.ui.openDlg != d || len(c.Overlays().List()) != 1 {
		t.Errorf("a second Ctrl+O opened %d dialogs", len(c.Overlays().List()))
	}
}

// What cannot be opened is said in the dialog, which stays open with the
// text so it can be corrected; an empty entry asks for a link.
func TestOpenBadLinks(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")

	h.shortcut(shortcutOpen)
	d := h.ui.openDlg
	test.Tap(d.open)
	if !d.errLabel.Visible() || !strings.Contains(d.errLabel.Text, "Paste a PeerTube video address") {
		t.Errorf("empty: %q", d.errLabel.Text)
	}
	for in, want := range map[string]string{
		"not a link at all":          "not a PeerTube video link, a magnet link or a .torrent file",
		"ftp://example.org/x":        "only PeerTube video links, magnet links and .torrent files",
		"magnet:?dn=no+hash":         "no BitTorrent info-hash",
		srv.URL + "/w/not-a-real-id": "",
	} {
		d.entry.SetText(in)
		d.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
		h.waitFor("the error for "+in, func() bool { return d.errLabel.Visible() && !d.progress.Visible() })
		if !strings.Contains(d.errLabel.Text, want) || d.closed || d.entry.Text != in {
			t.Errorf("%q: error %q (want %q), closed %v, entry %q", in, d.errLabel.Text, want, d.closed, d.entry.Text)
		}
		if h.ui.screen != screenDiscover {
			t.Errorf("%q: switched to %q", in, h.ui.screen)
		}
	}

	// a dropped file that is not a torrent is refused the same way
	d.close()
	h.ui.dropped(fyne.Position{}, []fyne.URI{storage.NewFileURI("/tmp/holiday.jpg")})
	d = h.ui.openDlg
	if d == nil || !strings.Contains(d.errLabel.Text, "holiday.jpg is not one") {
		t.Errorf("dropping a JPEG: %v", h.screenTexts())
	}
}

// Open(URL) before the window shows (fourmi URL on the command line)
// opens the video once the app runs; a PeerTube watch URL pasted in the
// dialog opens it too, and Back returns to where the user was.
func TestOpenVideoLink(t *testing.T) {
	srv := peertubetest.NewCaptured(t)
	app := test.NewTempApp(t)
	lib := openLibrary(t, srv)
	loop := &uiLoop{}
	u := New(app, lib, testLogger())
	u.do = loop.post
	u.win.Resize(desktopSize)
	h := &harness{t: t, app: app, lib: lib, ui: u, loop: loop, srv: srv}
	t.Cleanup(func() { u.Close(); loop.drain(); u.win.Close() })

	u.Open(srv.URL + "/videos/watch/" + peertubetest.CapturedUUID)
	u.Show()
	h.waitFor("the video", func() bool { return u.screen == screenVideo })
	if u.video.video.UUID != peertubetest.CapturedUUID || u.video.title.Text != "Interop test video" || u.openDlg != nil {
		t.Fatalf("opened %q (%q), dialog %v", u.video.video.UUID, u.video.title.Text, u.openDlg)
	}
	if len(u.video.resolutions) != 2 {
		t.Errorf("the opened video's files: %v", u.video.resolutions)
	}
	h.key(fyne.KeyEscape)
	if u.screen != screenDiscover {
		t.Errorf("back from an opened video: %q", u.screen)
	}

	// from Library, pasted in the dialog; Back returns to Library
	test.Tap(u.navLibrary)
	test.Tap(u.openBtn)
	u.openDlg.entry.SetText(srv.URL + "/videos/watch/" + peertubetest.CapturedUUID)
	test.Tap(u.openDlg.open)
	h.waitFor("the video", func() bool { return u.screen == screenVideo })
	if u.navLibrary.Importance != widget.HighImportance || u.navDiscover.Importance != widget.LowImportance {
		t.Errorf("the sidebar does not show where the video was opened from")
	}
	h.key(fyne.KeyEscape)
	if u.screen != screenLibrary {
		t.Errorf("Back from a video opened in Library went to %q", u.screen)
	}
}
