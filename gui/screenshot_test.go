package gui

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
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

	subsScreenshots(t, h, shoot)
	instanceScreenshots(t, h, shoot)
}

// TestScreenshotsInstance renders only the Instance screen's PNGs (go test
// -run TestScreenshotsInstance with FOURMI_SCREENSHOTS set).
func TestScreenshotsInstance(t *testing.T) {
	dir := os.Getenv("FOURMI_SCREENSHOTS")
	if dir == "" {
		t.Skip("set FOURMI_SCREENSHOTS=<dir> to write the screenshots")
	}
	fatalIf(t, os.MkdirAll(dir, 0o755))
	srv := peertubetest.NewSynthetic(4)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, fyne.NewSize(1280, 800))
	h.waitLoaded("the catalog")
	c := h.ui.win.Canvas()
	instanceScreenshots(t, h, func(name string) {
		t.Helper()
		c.Unfocus()
		h.settle(50e6)
		writePNG(t, filepath.Join(dir, name), c.Capture())
	})
}

// instanceScreenshots shows the Instance screen hosting on loopback with
// an avatar, a follower, a request to answer and a followed channel.
func instanceScreenshots(t *testing.T, h *harness, shoot func(string)) {
	t.Helper()
	ctx := context.Background()
	h.shortcut(shortcutInstance)
	s := h.ui.instance
	h.waitFor("the settings", func() bool { return s.loaded && s.haveStatus })
	ca := loopbackHostConfig(t, "camille", "ant_farm")
	ca.AccountDisplayName = "Camille Martin"
	ca.ChannelDisplayName = "The Ant Farm"
	ca.ChannelDescription = "Ants, up close: colonies, bridges and leafcutters, filmed at home near Lyon."
	ca.ManualApproval = true
	ca.AvatarPath = writeAvatar(t)
	h.fill(ca)
	h.hostOn()
	h.waitFor("the reachability check", func() bool { return !s.status.Reachability.Checked.IsZero() })

	hostA := strings.TrimPrefix(ca.PublicURL, "http://")
	var others []library.HostConfig
	for _, who := range []struct{ account, channel string }{{"bob", "bob_nature"}, {"lea", "lea_macro"}} {
		o := openLibrary(t, h.srv)
		c := loopbackHostConfig(t, who.account, who.channel)
		fatalIf(t, o.SetHostConfig(ctx, c))
		fatalIf(t, o.StartHosting(ctx))
		_, err := o.FollowRemote(ctx, "ant_farm@"+hostA)
		fatalIf(t, err)
		others = append(others, c)
	}
	fl := s.followers
	bob := others[0].PublicURL + "/accounts/bob"
	lea := others[1].PublicURL + "/accounts/lea"
	h.waitFor("the requests", func() bool { return fl.approve[bob] != nil && fl.approve[lea] != nil })
	fl.answer(bob, true)
	h.waitFor("bob accepted", func() bool { return fl.approve[bob] == nil && s.status.Followers == 1 })
	fl.target.SetText("bob_nature@" + strings.TrimPrefix(others[0].PublicURL, "http://"))
	fl.follow()
	h.waitFor("the follow", func() bool { return !fl.sending && len(fl.entries) == 1 })
	h.waitFor("the queue to drain", func() bool { return s.status.Queue.Pending == 0 })
	fl.target.SetText("")
	s.setNotice("")

	s.scroll.ScrollToTop()
	h.ui.setTheme(themeLight)
	shoot("instance-light.png")
	h.ui.setTheme(themeDark)
	shoot("instance-dark.png")
	s.relayout()
	s.scroll.ScrollToBottom()
	shoot("instance-followers-dark.png")
	h.ui.setTheme(themeLight)
	shoot("instance-followers-light.png")
}

// writeAvatar writes a small JPEG avatar (an ant-red disc) to a temporary
// file.
func writeAvatar(t *testing.T) string {
	t.Helper()
	const n = 128
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			dx, dy := x-n/2, y-n/2
			c := color.RGBA{R: 0xF3, G: 0xF0, B: 0xEC, A: 0xFF}
			if dx*dx+dy*dy < (n/3)*(n/3) {
				c = color.RGBA{R: 0xC8, G: 0x45 + uint8(y/4), B: 0x10, A: 0xFF}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	fatalIf(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}))
	path := filepath.Join(t.TempDir(), "avatar.jpg")
	fatalIf(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
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
