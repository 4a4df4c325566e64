package gui

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
	"github.com/fourmi-app/fourmi/library"
)

func transferState(t *testing.T, lib *library.Library, ih string) library.TransferState {
	t.Helper()
	tr, err := lib.TransferByHash(context.Background(), ih)
	if err != nil {
		t.Fatalf("transfer %s: %v", ih, err)
	}
	return tr.State
}

// The tray menu does what it says, against real seeding torrents: Pause
// seeding pauses every seeding torrent in the library (stored: a new UI
// starts with Resume seeding) and turns into Resume seeding, which the
// Library screen's toggle also offers and which resumes those (one the
// user had paused stays paused); Quit and
// Ctrl+Q (also from a text entry) quit; hiding the window to the tray
// tells the user once. The test driver has no tray, so closing there
// closes (no intercept).
func TestTrayMenu(t *testing.T) {
	file := testkit.Video(t, testkit.SmallVideo)
	srv := peertubetest.NewSynthetic(0)
	t.Cleanup(srv.Close)
	a := testkit.Publish(t, srv, "Seeded ants", file, 4)
	b := testkit.Publish(t, srv, "Paused ants", file, 4)
	h := newWatchHarness(t, srv, desktopSize)
	u := h.ui
	notes := &notifications{}
	u.notify = notes.add
	quits := 0
	u.quit = func() { quits++ }
	ctx := context.Background()

	tr := u.tray
	var labels []string
	for _, it := range tr.menu.Items {
		labels = append(labels, it.Label)
	}
	if len(labels) != 4 || labels[0] != "Show Fourmi" || labels[1] != "Pause seeding" || !tr.menu.Items[2].IsSeparator ||
		labels[3] != "Quit" || !tr.quit.IsQuit {
		t.Fatalf("tray menu: %q", labels)
	}
	if tr.active {
		t.Error("the test driver has no system tray, yet the window hides on close")
	}

	h.waitLoaded("the catalog")
	for _, p := range []testkit.Published{a, b} {
		if _, err := h.lib.Download(ctx, p.UUID, 0); err != nil {
			t.Fatalf("download %s: %v", p.Name, err)
		}
	}
	h.waitFor("both seeding", func() bool {
		return transferState(t, h.lib, a.InfoHash) == library.StateSeeding && transferState(t, h.lib, b.InfoHash) == library.StateSeeding
	})
	fatalIf(t, h.lib.PauseTransfer(ctx, b.InfoHash)) // the user's own pause

	tr.pause.Action()
	if !tr.pause.Disabled {
		t.Error("Pause seeding can be pressed again while it works")
	}
	h.waitFor("Resume seeding", func() bool { return tr.pause.Label == "Resume seeding" && !tr.pause.Disabled })
	if st := transferState(t, h.lib, a.InfoHash); st != library.StatePaused {
		t.Fatalf("after Pause seeding: %s", st)
	}
	if p, err := h.lib.SeedingPaused(ctx); err != nil || !p {
		t.Fatalf("the library's pause after the tray's: %v %v", p, err)
	}
	// The Library screen's toggle shows the same state.
	if got := u.library.seedToggle.Text; got != "Resume seeding" {
		t.Errorf("the Library screen's toggle says %q", got)
	}

	// A new window on the same library starts with the stored state.
	u2 := New(test.NewTempApp(t), h.lib, testLogger())
	u2.do = h.loop.post
	if u2.tray.pause.Label != "Resume seeding" || u2.library.seedToggle.Text != "Resume seeding" {
		t.Errorf("a new UI on a paused library: tray %q, Library screen %q", u2.tray.pause.Label, u2.library.seedToggle.Text)
	}

	// Resumed from the Library screen's toggle: the tray follows.
	test.Tap(u.library.seedToggle)
	h.waitFor("Pause seeding", func() bool { return tr.pause.Label == "Pause seeding" && !tr.pause.Disabled })
	h.waitFor("seeding again", func() bool { return transferState(t, h.lib, a.InfoHash) == library.StateSeeding })
	if st := transferState(t, h.lib, b.InfoHash); st != library.StatePaused {
		t.Errorf("the user's paused torrent was resumed: %s", st)
	}
	if got := u.library.seedToggle.Text; got != "Pause seeding" {
		t.Errorf("the Library screen's toggle says %q after resuming", got)
	}
	// The other window learns the change from the library.
	h.waitFor("the second UI's tray", func() bool { return u2.tray.pause.Label == "Pause seeding" })
	u2.Close()
	if n := notes.list(); len(n) != 0 {
		t.Errorf("notifications without an error: %+v", n)
	}

	// hiding to the tray says so once
	tr.hideWindow()
	tr.hideWindow()
	if n := notes.list(); len(n) != 1 || n[0].Title != "Fourmi keeps seeding" {
		t.Errorf("hide notifications: %+v", n)
	}
	tr.showWindow()

	tr.quit.Action()
	h.shortcut(shortcutQuit)
	u.win.Canvas().Focus(u.discover.search)
	h.shortcut(shortcutQuit)
	if quits != 3 {
		t.Errorf("Quit, Ctrl+Q, Ctrl+Q in the search entry: %d quits", quits)
	}
}

// Closing the window with a tray asks once (never hides silently: some
// desktops show no tray area), saves the answer, and then follows it; the
// Settings screen shows and changes the saved choice.
func TestCloseAsksThenRemembers(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	u := h.ui
	u.notify = (&notifications{}).add
	quits := 0
	u.quit = func() { quits++ }
	ctx := context.Background()
	setting := func() string {
		v, _, err := h.lib.Setting(ctx, settingCloseAction)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// First close: a question, nothing decided yet.
	u.tray.onClose()
	h.waitFor("the close question", func() bool { return h.screenShows("Keep seeding after closing the window?") })
	if quits != 0 || setting() != "" {
		t.Fatalf("before answering: %d quits, setting %q", quits, setting())
	}
	test.Tap(h.overlayButton("Keep seeding in the tray"))
	h.waitFor("the answer saved", func() bool { return setting() == closeToTray })
	h.waitFor("the tray notice", func() bool { return u.tray.told })
	if quits != 0 {
		t.Errorf("keeping seeding quit the app")
	}

	// Second close: no question, hidden again, still running.
	u.tray.onClose()
	h.settle(300 * time.Millisecond)
	if h.ui.win.Canvas().Overlays().Top() != nil {
		t.Errorf("asked again after the answer was saved")
	}
	if quits != 0 {
		t.Errorf("closing with %q quit the app", closeToTray)
	}

	// Settings shows the choice; choosing "Quits Fourmi" makes close quit.
	u.showScreen(screenSettings)
	sel := u.settings.watch.onClose
	h.waitFor("the saved choice in Settings", func() bool { return sel.Selected == "Keeps seeding in the tray" })
	sel.SetSelected("Quits Fourmi")
	h.waitFor("the new choice saved", func() bool { return setting() == closeQuits })
	u.tray.onClose()
	h.waitFor("close to quit", func() bool { return quits == 1 })
}
