package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
	"github.com/fourmi-app/fourmi/library"
)

// The Library screen sits between Discover and Settings; on a new library
// every section says what will show there, and nothing is wrong.
func TestLibraryEmptyStates(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newWatchHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	test.Tap(h.ui.navLibrary)
	s := h.ui.library
	if h.ui.screen != screenLibrary || !s.root.Visible() || h.ui.discover.root.Visible() {
		t.Fatal("Library did not open")
	}
	if h.ui.navLibrary.Importance != widget.HighImportance || h.ui.navDiscover.Importance != widget.LowImportance {
		t.Errorf("the sidebar does not highlight Library")
	}
	h.waitFor("the transfers listed", func() bool { return s.loaded })
	h.waitFor("the limits", func() bool { return strings.HasPrefix(mutedText(s.limits), "Upload") })
	for _, want := range []string{
		"Continue watching", "Downloads & seeding", "History",
		"Videos you start watching show here",
		"Nothing downloading or seeding. Press Download on a video",
		"Nothing watched yet. Find a video in Discover and press Play.",
		"seed until ratio 2, for 30 days · 20 GB of disk", "Change limits…",
	} {
		if !h.screenShows(want) {
			t.Errorf("the empty Library does not show %q", want)
		}
	}
	if s.banner.Visible() {
		t.Errorf("banner: %q", s.banner.Text())
	}
	// Change limits… goes to the Settings section
	b, _ := find(s.root, func(b *widget.Button) bool { return b.Text == "Change limits…" })
	test.Tap(b)
	if h.ui.screen != screenSettings || s.pollCancel != nil {
		t.Errorf("Change limits…: screen %q, still polling %v", h.ui.screen, s.pollCancel != nil)
	}
}

// When the library cannot be read the screen says so, with the cause.
func TestLibraryShowsErrors(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	fatalIf(t, h.lib.Close())
	test.Tap(h.ui.navLibrary)
	s := h.ui.library
	h.waitFor("the error", func() bool { return s.banner.Visible() && strings.Contains(s.banner.Text(), "Could not") })
	if !strings.Contains(s.banner.Text(), "closed") {
		t.Errorf("banner %q does not say why", s.banner.Text())
	}
	if s.loaded || len(s.rows) != 0 {
		t.Errorf("transfers listed from a closed library")
	}
}

// transferRowOf waits until Library lists the transfer with infoHash.
func (h *harness) transferRowOf(infoHash string, cond func(*transferRow) bool) *transferRow {
	h.t.Helper()
	s := h.ui.library
	var row *transferRow
	h.waitWithin(90*time.Second, "transfer "+infoHash, func() bool {
		row = s.rows[infoHash]
		return row != nil && row.root.Visible() && (cond == nil || cond(row))
	})
	return row
}

func seeding(r *transferRow) bool { return r.t.State == library.StateSeeding && r.bar.Value == 1 }

// The Library screen with a real library: a played video is in Continue
// watching (with its position) and History; a downloaded video, a dropped
// .torrent and a pasted magnet are in Downloads & seeding with live
// numbers, refreshed in place; Pause/Resume, Remove (deleting the files),
// Play of a bare torrent and Remove from history work.
func TestLibraryWithRealTransfers(t *testing.T) {
	testkit.NeedMPV(t)
	file := testkit.Video(t, testkit.SmallVideo)
	srv := peertubetest.NewSynthetic(0)
	t.Cleanup(srv.Close)
	played := testkit.PublishWith(t, srv, "Leafcutter ants at night", file, 8, dressed(srv))
	downloaded := testkit.PublishWith(t, srv, "How ants build bridges", file, 8, dressed(srv))
	dropped := testkit.PublishWith(t, srv, "Dropped torrent", file, 8, dressed(srv))
	pasted := testkit.PublishWith(t, srv, "Pasted magnet", file, 8, dressed(srv))
	h := newWatchHarness(t, srv, desktopSize)
	ctx := context.Background()
	u := h.ui

	// play one video for a while, then stop: it can be continued
	v := h.openByName(played.Name)
	test.Tap(v.play)
	var sess *session
	h.waitFor("a position", func() bool { sess = u.sessions[played.UUID]; return sess != nil && sess.pos >= time.Second })
	test.Tap(v.panel.stop)
	h.waitFor("the stop", func() bool { return u.sessions[played.UUID] == nil })
	h.key(fyne.KeyEscape)

	// download another
	v = h.openByName(downloaded.Name)
	test.Tap(v.download)
	h.waitFor("the download", func() bool { return strings.Contains(mutedText(v.notice), "Downloading 240p") })
	if v.banner.Visible() {
		t.Fatalf("Download: %q", v.banner.Text())
	}
	h.key(fyne.KeyEscape)

	// drop a .torrent file: Library opens on it
	u.dropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(writeTorrent(t, dropped.Torrent))})
	h.waitFor("Library after the drop", func() bool { return u.screen == screenLibrary })
	s := u.library
	if !strings.Contains(mutedText(s.notice), "to Downloads & seeding") {
		t.Errorf("notice after the drop: %q", mutedText(s.notice))
	}
	// paste a magnet in Open link
	h.shortcut(shortcutOpen)
	u.openDlg.entry.SetText(pasted.Magnet)
	test.Tap(u.openDlg.open)
	h.waitFor("the magnet opened", func() bool { return u.openDlg == nil })

	rows := map[string]*transferRow{}
	for _, p := range []testkit.Published{played, downloaded, dropped, pasted} {
		rows[p.InfoHash] = h.transferRowOf(p.InfoHash, seeding)
	}
	if s.banner.Visible() {
		t.Errorf("banner: %q", s.banner.Text())
	}
	r := rows[downloaded.InfoHash]
	if r.name.Text != downloaded.Name || r.state.Text != "Seeding" || !strings.Contains(mutedText(r.info), "ratio 0.00") ||
		!strings.Contains(mutedText(r.info), "240p") {
		t.Errorf("downloaded row: %q, %q, %q", r.name.Text, r.state.Text, mutedText(r.info))
	}
	if !rows[dropped.InfoHash].play.Visible() || !r.play.Visible() {
		t.Errorf("Play is not offered for complete transfers")
	}
	// the rows are refreshed in place, not rebuilt
	h.settle(2500 * time.Millisecond)
	for ih, row := range rows {
		if s.rows[ih] != row {
			t.Errorf("row %s was rebuilt by the refresh", ih)
		}
	}

	// Continue watching and History
	h.waitFor("the history", func() bool { return len(s.resume) == 1 && len(s.history) >= 1 })
	if s.resume[0].Video.UUID != played.UUID || s.resume[0].Position <= 0 {
		t.Errorf("continue watching: %+v", s.resume)
	}
	card := s.cards[0]
	if card.resume <= 0 || card.resume >= 1 || !strings.Contains(card.metaText, " of 0:08") {
		t.Errorf("card: resume %v, meta %q", card.resume, card.metaText)
	}
	if !h.screenShows(played.Name) || !h.screenShows("Resume") {
		t.Errorf("history row missing: %q", h.screenTexts())
	}

	// Pause and Resume
	test.Tap(r.pause)
	h.waitFor("paused", func() bool {
		return r.t.State == library.StatePaused && r.pause.Text == "Resume" && r.state.Text == "Paused"
	})
	test.Tap(r.pause)
	h.waitFor("resumed", func() bool { return r.t.State == library.StateSeeding && r.pause.Text == "Pause" })

	// Play a bare torrent from its row, and stop it there
	d := rows[dropped.InfoHash]
	test.Tap(d.play)
	h.waitFor("the bare torrent playing", func() bool { return u.sessions[transferKey(dropped.InfoHash)] != nil && d.play.Text == "Stop" })
	test.Tap(d.play)
	h.waitFor("stopped", func() bool { return u.sessions[transferKey(dropped.InfoHash)] == nil && d.play.Text == "Play" })

	// Remove, deleting the files
	test.Tap(d.remove)
	if !h.screenShows("Remove “" + d.t.Name + "”?") {
		t.Fatalf("no confirmation: %q", h.screenTexts())
	}
	check, ok := find(u.win.Canvas().Overlays().Top(), func(c *widget.Check) bool { return strings.HasPrefix(c.Text, "Also delete") })
	if !ok {
		t.Fatal("the confirmation does not offer to delete the files")
	}
	check.SetChecked(true)
	test.Tap(h.overlayButton("Remove"))
	h.waitFor("the row removed", func() bool { return s.rows[dropped.InfoHash] == nil && len(s.transferBox.Objects) == 3 })
	if _, err := h.lib.TransferByHash(ctx, dropped.InfoHash); err == nil {
		t.Errorf("the library still has the removed transfer")
	}

	// a Continue watching card plays from where the user stopped
	test.Tap(card)
	if u.screen != screenVideo || u.video.video.UUID != played.UUID {
		t.Fatalf("the card opened %q (%s)", u.video.video.UUID, u.screen)
	}
	h.waitFor("playing again", func() bool { return u.sessions[played.UUID] != nil })
	test.Tap(u.video.panel.stop)
	h.waitFor("stopped", func() bool { return u.sessions[played.UUID] == nil })
	h.key(fyne.KeyEscape)
	if u.screen != screenLibrary {
		t.Fatalf("Back went to %q, want Library", u.screen)
	}

	// forget the history
	for range 10 {
		b, ok := find(s.historyBox, func(b *widget.Button) bool { return b.Text == "" && b.Icon != nil })
		if !ok {
			break
		}
		n := len(s.history)
		test.Tap(b)
		h.waitFor("the entry removed", func() bool {
			return strings.Contains(mutedText(s.notice), "from the history") && len(s.history) == n-1
		})
		if s.banner.Visible() {
			t.Fatalf("removing from the history: %q", s.banner.Text())
		}
	}
	h.waitFor("an empty history", func() bool { return len(s.history) == 0 && len(s.resume) == 0 })
	if !h.screenShows("Nothing watched yet") || !h.screenShows("Videos you start watching show here") {
		t.Errorf("empty history not said: %q", h.screenTexts())
	}
	hist, err := h.lib.History(ctx, 10)
	fatalIf(t, err)
	if len(hist) != 0 {
		t.Errorf("the library still has %d history entries", len(hist))
	}

	// leaving Library stops the polling
	test.Tap(u.navDiscover)
	if s.pollCancel != nil || s.visible {
		t.Errorf("Library still polls after leaving it")
	}
}
