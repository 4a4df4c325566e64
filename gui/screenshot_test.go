package gui

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
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
	srv := peertubetest.NewSynthetic(40)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, fyne.NewSize(1280, 800))
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

	test.Tap(h.card(1))
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
