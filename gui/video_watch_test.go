package gui

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
	"github.com/fourmi-app/fourmi/library"
)

// openByName opens the Video screen of the catalog's video called name and
// waits for its details.
func (h *harness) openByName(name string) *videoScreen {
	h.t.Helper()
	h.waitLoaded("the catalog")
	d := h.ui.discover
	for i, v := range d.items {
		if v.Name == name {
			d.open(i)
			s := h.ui.video
			h.waitFor("the details of "+name, func() bool { return !s.video.DetailsAt.IsZero() && !s.progress.Visible() })
			return s
		}
	}
	h.t.Fatalf("%q is not in the catalog: %q", name, h.itemNames())
	return nil
}

// A video without files, and a live one, cannot be played: Play, Download
// and Copy stream URL are disabled and the screen says why; Ctrl+Enter and
// Space do nothing.
func TestPlayDisabledWithoutFiles(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	srv.AddVideo(filelessVideo(srv, "A video without files", 30))
	live := filelessVideo(srv, "A live stream of the nest", 0)
	live.IsLive = true
	srv.AddVideo(live)
	h := newHarness(t, srv, desktopSize)

	for name, why := range map[string]string{
		"A video without files":     "This video has no files to play or download.",
		"A live stream of the nest": "Live streams cannot be watched through Fourmi yet",
	} {
		s := h.openByName(name)
		if !s.play.Disabled() || !s.download.Disabled() || !s.copyStream.Disabled() || !s.resPick.Disabled() {
			t.Errorf("%s: Play %v, Download %v, Copy stream URL %v, picker %v: want all disabled", name,
				s.play.Disabled(), s.download.Disabled(), s.copyStream.Disabled(), s.resPick.Disabled())
		}
		if !s.playNote.Visible() || !strings.Contains(mutedText(s.playNote), why) || !h.screenShows(why) {
			t.Errorf("%s: the note says %q, want %q", name, mutedText(s.playNote), why)
		}
		h.shortcut(shortcutPlay)
		h.key(fyne.KeySpace)
		test.Tap(s.play)
		h.settle(100 * time.Millisecond)
		if s.starting || len(h.ui.sessions) != 0 || s.banner.Visible() {
			t.Errorf("%s: something started: starting %v, sessions %d, banner %q", name, s.starting, len(h.ui.sessions), s.banner.Text())
		}
		h.key(fyne.KeyEscape)
	}
}

// The resolution picker lists the video's files best first and picks the
// best one not above the max-resolution setting; the user's pick sticks.
func TestResolutionPickerFollowsTheSetting(t *testing.T) {
	srv := peertubetest.NewSynthetic(3) // files: 720p, 480p, 240p
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	ctx := context.Background()
	name := peertubetest.SyntheticVideo(srv.URL, 0).Name
	for setting, want := range map[string]string{"": "720p", "480": "480p", "360": "240p", "2160": "720p"} {
		fatalIf(t, h.lib.SetSetting(ctx, library.SettingMaxResolution, setting))
		s := h.openByName(name)
		h.waitFor("the setting applied", func() bool { return strings.HasPrefix(s.resPick.Selected, want) })
		if len(s.resPick.Options) != 3 || !strings.HasPrefix(s.resPick.Options[0], "720p") || !strings.Contains(s.resPick.Options[0], "MB") {
			t.Errorf("setting %q: options %q", setting, s.resPick.Options)
		}
		h.key(fyne.KeyEscape)
	}
	s := h.openByName(name)
	s.resPick.SetSelectedIndex(2)
	if got := s.selectedResolution(); got != 240 {
		t.Errorf("picked 240p, Play would ask for %d", got)
	}
	s.renderWatch() // details arriving again keep the user's choice
	if got := s.selectedResolution(); got != 240 || !strings.HasPrefix(s.resPick.Selected, "240p") {
		t.Errorf("after a re-render: %d, %q", got, s.resPick.Selected)
	}
}

// Play (Ctrl+Enter) streams a real video over BitTorrent from the
// instance's web seed into headless mpv without blocking the UI: the
// stats panel shows the live numbers and the piece bar, Stop closes the
// player, and the torrent keeps seeding in Library.
func TestPlayShowsLiveStatsAndStops(t *testing.T) {
	testkit.NeedMPV(t)
	file := testkit.Video(t, testkit.SmallVideo)
	srv := peertubetest.NewSynthetic(0)
	t.Cleanup(srv.Close)
	p := testkit.PublishWith(t, srv, "Ants at work", file, 8, dressed(srv))
	h := newWatchHarness(t, srv, desktopSize)
	s := h.openByName(p.Name)
	if s.play.Disabled() || !strings.HasPrefix(s.resPick.Selected, "240p") {
		t.Fatalf("Play disabled %v, picker %q", s.play.Disabled(), s.resPick.Selected)
	}

	h.shortcut(shortcutPlay)
	if !s.starting || !s.play.Disabled() || !strings.Contains(mutedText(s.playNote), "Starting") {
		t.Fatalf("Ctrl+Enter: starting %v, Play disabled %v, note %q", s.starting, s.play.Disabled(), mutedText(s.playNote))
	}
	var sess *session
	h.waitFor("the playback", func() bool { sess = h.ui.sessions[p.UUID]; return sess != nil && s.panel.root.Visible() })
	if s.banner.Visible() {
		t.Fatalf("banner: %q", s.banner.Text())
	}
	if sess.pb.Player() != "mpv" || !h.screenShows("Playing in mpv") || !s.play.Disabled() {
		t.Errorf("player %q, Play disabled %v; screen %q", sess.pb.Player(), s.play.Disabled(), h.screenTexts())
	}
	h.waitFor("the whole file verified", func() bool {
		st := sess.stats
		return st.Size == int64(len(p.Data)) && st.Completed == st.Size && len(st.Pieces) > 0
	})
	st := sess.stats
	if st.FromWebSeed+st.FromPeers < st.Size || st.FromWebSeed == 0 {
		t.Errorf("bytes from the web seed %d, from peers %d, for %d", st.FromWebSeed, st.FromPeers, st.Size)
	}
	h.waitFor("the panel updated", func() bool {
		return strings.HasPrefix(mutedText(s.panel.progress), "Complete") && s.panel.values["web"].Text == formatBytes(st.FromWebSeed)
	})
	for _, ok := range s.panel.bar.pieces {
		if !ok {
			t.Fatalf("the piece bar shows a missing piece of a complete file: %v", s.panel.bar.pieces)
		}
	}
	for _, k := range []string{"down", "up", "peers", "ratio"} {
		if s.panel.values[k].Text == "—" || s.panel.values[k].Text == "" {
			t.Errorf("stat %s not shown", k)
		}
	}

	test.Tap(s.panel.stop)
	h.waitFor("the playback stopped", func() bool { return h.ui.sessions[p.UUID] == nil && !s.panel.root.Visible() })
	if !strings.Contains(mutedText(s.notice), "keeps seeding") || s.banner.Visible() || s.play.Disabled() {
		t.Errorf("after Stop: notice %q, banner %q, Play disabled %v", mutedText(s.notice), s.banner.Text(), s.play.Disabled())
	}
	tr, err := h.lib.TransferByHash(context.Background(), p.InfoHash)
	fatalIf(t, err)
	if tr.State != library.StateSeeding {
		t.Errorf("after Stop the transfer is %s, want seeding", tr.State)
	}
}

// Without any player installed, Play says so and offers Copy stream URL,
// which puts a working loopback stream address in the clipboard; the
// stream shows in the panel until Stop.
func TestNoPlayerOffersStreamURL(t *testing.T) {
	file := testkit.Video(t, testkit.SmallVideo) // ffmpeg runs before PATH empties
	t.Setenv("PATH", t.TempDir())                // no mpv, no VLC, no xdg-open
	srv := peertubetest.NewSynthetic(0)
	t.Cleanup(srv.Close)
	p := testkit.PublishWith(t, srv, "Queen ant interview", file, 8, dressed(srv))
	h := newWatchHarness(t, srv, desktopSize)
	s := h.openByName(p.Name)

	h.ui.win.Canvas().Unfocus()
	h.key(fyne.KeySpace) // Space plays when no control has the keyboard
	h.waitFor("the error", func() bool { return s.banner.Visible() })
	if !strings.Contains(s.banner.Text(), "No video player found: install mpv (or VLC)") || s.banner.action.Text != "Copy stream URL" {
		t.Fatalf("banner %q, action %q", s.banner.Text(), s.banner.action.Text)
	}
	if s.play.Disabled() || s.starting || len(h.ui.sessions) != 0 {
		t.Errorf("after the failure: Play disabled %v, starting %v, %d sessions", s.play.Disabled(), s.starting, len(h.ui.sessions))
	}

	test.Tap(s.banner.action)
	h.waitFor("the stream URL copied", func() bool { return strings.Contains(mutedText(s.notice), "Stream URL copied") })
	u := h.app.Clipboard().Content()
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("clipboard = %q, want a loopback stream URL", u)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=0-999")
	resp, err := http.DefaultClient.Do(req)
	fatalIf(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	fatalIf(t, err)
	if string(body) != string(p.Data[:1000]) {
		t.Errorf("the stream served %d bytes that differ from the video's first 1000 (%s)", len(body), resp.Status)
	}
	sess := h.ui.sessions[p.UUID]
	if sess == nil || !sess.streamOnly() || !s.panel.root.Visible() || !h.screenShows("Streaming") {
		t.Fatalf("no stream session on screen: %q", h.screenTexts())
	}
	// copying again reuses the running stream
	h.app.Clipboard().SetContent("")
	test.Tap(s.copyStream)
	if h.app.Clipboard().Content() != u {
		t.Errorf("second copy = %q, want %q", h.app.Clipboard().Content(), u)
	}
	test.Tap(s.panel.stop)
	h.waitFor("the stream stopped", func() bool { return h.ui.sessions[p.UUID] == nil && !s.panel.root.Visible() })
}
