package gui

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
	"github.com/fourmi-app/fourmi/library"
)

// maxScreenshotBytes keeps the documentation's images small.
const maxScreenshotBytes = 1 << 20

// TestScreenshots renders the screens to PNG files in $FOURMI_SCREENSHOTS
// (make screenshots), against a synthetic catalog on loopback.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("FOURMI_SCREENSHOTS")
	if dir == "" {
		t.Skip("set FOURMI_SCREENSHOTS=<dir> to write the screenshots")
	}
	fatalIf(t, os.MkdirAll(dir, 0o755))
	testkit.NeedMPV(t)
	file := testkit.Video(t, testkit.SmallVideo)
	srv := peertubetest.NewSynthetic(40)
	t.Cleanup(srv.Close)
	// real videos to play, download and seed, first in the catalog
	var vids []testkit.Published
	for _, name := range []string{"A queen's first day", "Ants crossing a river", "Inside the ant farm",
		"How ants build bridges", "Leafcutter ants at night"} {
		vids = append(vids, testkit.PublishWith(t, srv, name, file, 8, dressed(srv)))
	}
	h := newWatchHarness(t, srv, fyne.NewSize(1280, 800))
	h.waitLoaded("the catalog")
	d := h.ui.discover
	h.waitFor("the thumbnails", func() bool {
		n := 0
		for c := range d.cards {
			if c.index < len(d.items) && c.Visible() && c.video.UUID != "" {
				if c.img == nil {
					return false
				}
				n++
			}
		}
		return n >= 8
	})
	c := h.ui.win.Canvas()
	shoot := func(name string) {
		t.Helper()
		c.Unfocus()
		h.settle(50e6)
		writePNG(t, filepath.Join(dir, name), c.Capture())
	}

	h.ui.setTheme(themeLight)
	shoot("discover-light.png")
	h.ui.setTheme(themeDark)
	shoot("discover-dark.png")

	test.Tap(h.card(len(vids) + 1)) // a synthetic video, with a long description
	s := h.ui.video
	h.waitFor("the details and the preview", func() bool {
		return !s.video.DetailsAt.IsZero() && !s.progress.Visible() && s.preview.Image != nil
	})
	shoot("video-dark.png")
	h.ui.setTheme(themeLight)
	shoot("video-light.png")

	h.key(fyne.KeyEscape)
	test.Tap(h.ui.navSettings)
	h.waitFor("the instances", func() bool { return len(h.ui.settings.removeBtns) == 1 })
	shoot("settings-light.png")
	h.ui.setTheme(themeDark)
	h.ui.settings.showWatching()
	shoot("settings-watching-dark.png")
	h.ui.setTheme(themeLight)
	test.Tap(h.ui.navDiscover)

	// watching: the stats panel while mpv (headless) plays
	ctx := context.Background()
	s = h.openByName(vids[4].Name)
	test.Tap(s.play)
	var sess *session
	h.waitFor("the playback", func() bool {
		sess = h.ui.sessions[vids[4].UUID]
		return sess != nil && sess.stats.Size > 0 && sess.stats.Completed == sess.stats.Size && sess.pos >= 1500*time.Millisecond
	})
	h.waitFor("the thumbnail", func() bool { return s.preview.Image != nil })
	shoot("video-playing-light.png")
	h.ui.setTheme(themeDark)
	shoot("video-playing-dark.png")
	test.Tap(s.panel.stop)
	h.waitFor("the stop", func() bool { return h.ui.sessions[vids[4].UUID] == nil })
	h.key(fyne.KeyEscape)

	// Library: two videos to continue, one watched to the end, a
	// download, a dropped torrent (paused)
	s = h.openByName(vids[3].Name)
	test.Tap(s.play)
	h.waitFor("a position", func() bool {
		sess = h.ui.sessions[vids[3].UUID]
		return sess != nil && sess.pos >= 3*time.Second
	})
	test.Tap(s.panel.stop)
	h.waitFor("the stop", func() bool { return h.ui.sessions[vids[3].UUID] == nil })
	h.key(fyne.KeyEscape)
	end := 7500 * time.Millisecond
	pb, err := h.lib.Play(ctx, library.PlayRequest{UUID: vids[2].UUID, From: &end})
	if err == nil {
		h.lib.OpenURL(ctx, srv.URL+"/videos/watch/"+vids[2].UUID) // details for the history row
		<-pb.Done()
	}
	fatalIf(t, err)
	s = h.openByName(vids[1].Name)
	test.Tap(s.download)
	h.waitFor("the download", func() bool { return strings.Contains(mutedText(s.notice), "Downloading") })
	h.key(fyne.KeyEscape)
	h.ui.dropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(writeTorrent(t, vids[0].Torrent))})
	h.waitFor("Library", func() bool { return h.ui.screen == screenLibrary })
	lib := h.ui.library
	h.transferRowOf(vids[0].InfoHash, seeding)
	test.Tap(lib.rows[vids[0].InfoHash].pause)
	h.transferRowOf(vids[0].InfoHash, func(r *transferRow) bool { return r.t.State == library.StatePaused })
	for _, v := range vids[1:] {
		h.transferRowOf(v.InfoHash, seeding)
	}
	h.waitFor("the history", func() bool { return len(lib.resume) == 2 && len(lib.history) == 3 })
	h.waitFor("the thumbnails", func() bool {
		for _, c := range lib.cards[:len(lib.resume)] {
			if c.img == nil {
				return false
			}
		}
		return true
	})
	lib.setNotice("")
	lib.scroll.ScrollToTop()
	h.ui.setTheme(themeLight)
	shoot("library-light.png")
	h.ui.setTheme(themeDark)
	shoot("library-dark.png")
	lib.scroll.ScrollToBottom()
	h.ui.setTheme(themeLight)
	shoot("library-history-light.png")

	// Publish: the form, with a message under a field; the progress of a
	// real job (a 480p file also encoded to 360p); the result; My videos
	h.shortcut(shortcutPublish)
	ps := h.ui.publish
	big := makeVideo(t, "ants_crossing_a_river.mp4", 854, 480, 10)
	ps.setFile(big)
	ps.form.title.SetText("Ants crossing a river at dawn")
	ps.form.description.SetText("A colony of *Formica* ants builds a bridge of their own bodies to cross a stream.\n\nFilmed near Lyon, June 2026.")
	ps.form.tags.SetText("ants, nature, x")
	ps.form.category.SetSelected("Science & Technology")
	ps.form.licence.SetSelected("Attribution - Share Alike")
	ps.form.language.SetSelected("English")
	ps.resChecks[3].SetChecked(true)
	shoot("publish-form-light.png")
	h.ui.setTheme(themeDark)
	shoot("publish-form-dark.png")
	ps.form.tags.SetText("ants, nature, macro")
	test.Tap(ps.publishBtn)
	h.waitFor("the progress view", func() bool { return ps.view != viewForm || ps.banner.Visible() })
	caught := false
	h.waitFor("the encode under way", func() bool {
		if ps.view != viewProgress || ps.failBox.Visible() {
			return true
		}
		for _, st := range ps.progress.Steps {
			if st.Step == library.StepEncode && st.Fraction > 0.1 && !st.Done {
				caught = true
				return true
			}
		}
		return false
	})
	if caught {
		shoot("publish-progress-dark.png")
	} else {
		t.Errorf("the encode was not seen under way (view %q, %q)", ps.view, ps.failMsg.Text)
	}
	h.waitFor("the result", func() bool { return ps.view == viewResult || ps.failBox.Visible() })
	if ps.view != viewResult {
		t.Fatalf("publishing failed: %q", ps.failMsg.Text)
	}
	h.ui.setTheme(themeLight)
	shoot("publish-result-light.png")

	h.ui.showMyVideos()
	mine := lib.mine
	h.waitFor("My videos", func() bool { return len(mine.rows) == 1 && !mine.scrollPending })
	lib.setNotice("")
	h.settle(300e6)
	lib.scrollTo(mine.head)
	h.ui.setTheme(themeDark)
	shoot("library-my-videos-dark.png")
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	fatalIf(t, enc.Encode(&buf, img))
	if buf.Len() > maxScreenshotBytes {
		t.Errorf("%s is %d bytes, more than %d", path, buf.Len(), maxScreenshotBytes)
	}
	fatalIf(t, os.WriteFile(path, buf.Bytes(), 0o644))
	t.Logf("%s: %dx%d, %d KB", filepath.Base(path), img.Bounds().Dx(), img.Bounds().Dy(), buf.Len()/1024)
}
