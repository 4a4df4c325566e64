package gui

import (
	"context"
	"image/color"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/library"
)

func sameColor(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

// Choosing Dark or Light in Settings changes the app's theme variant at
// once and saves the choice, which the next start uses.
func TestThemeSwitch(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	test.Tap(h.ui.navSettings)
	if h.ui.screen != screenSettings || !h.ui.settings.root.Visible() {
		t.Fatal("Settings did not open")
	}
	if h.ui.settings.themeRadio.Selected != "System" {
		t.Errorf("theme radio = %q, want System by default", h.ui.settings.themeRadio.Selected)
	}
	bg := func() color.Color {
		return h.app.Settings().Theme().Color(theme.ColorNameBackground, h.app.Settings().ThemeVariant())
	}
	def := theme.DefaultTheme()
	ctx := context.Background()
	for _, tc := range []struct {
		label, mode string
		variant     fyne.ThemeVariant
	}{{"Dark", library.ThemeDark, theme.VariantDark}, {"Light", library.ThemeLight, theme.VariantLight}} {
		h.ui.settings.themeRadio.SetSelected(tc.label)
		if !sameColor(bg(), def.Color(theme.ColorNameBackground, tc.variant)) {
			t.Errorf("%s: background %v, want the %s variant's", tc.label, bg(), tc.label)
		}
		if th, ok := h.app.Settings().Theme().(*fourmiTheme); !ok || th.mode != tc.mode {
			t.Errorf("%s: app theme %T %+v", tc.label, h.app.Settings().Theme(), h.app.Settings().Theme())
		}
		if !sameColor(h.app.Settings().Theme().Color(theme.ColorNamePrimary, 0), accentFor(tc.variant)) {
			t.Errorf("%s: primary colour is not Fourmi's accent", tc.label)
		}
		h.waitFor("the theme saved", func() bool {
			v, _ := h.lib.Theme(ctx)
			return v == tc.mode
		})
	}
	// a new window on the same library starts light
	u2 := New(h.app, h.lib, testLogger())
	t.Cleanup(u2.Close)
	if u2.theme.mode != library.ThemeLight || u2.settings.themeRadio.Selected != "Light" {
		t.Errorf("restart: theme %q, radio %q", u2.theme.mode, u2.settings.themeRadio.Selected)
	}
}

func accentFor(v fyne.ThemeVariant) color.Color {
	if v == theme.VariantLight {
		return accentLight
	}
	return accentDark
}

// Settings lists the instances and removes one after confirmation; the
// source picker follows. A bad search index address is refused with a
// message; a good one is saved.
func TestSettingsInstancesAndIndex(t *testing.T) {
	srv := peertubetest.NewSynthetic(2)
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	s := h.ui.settings
	test.Tap(h.ui.navSettings)
	h.waitFor("the instance list", func() bool { return s.removeBtns[srv.Host()] != nil })
	if !h.screenShows("Demo PeerTube") || !h.screenShows("PeerTube 6.3.0") {
		t.Errorf("instance row missing: %q", h.screenTexts())
	}

	s.indexEntry.SetText("not a url")
	test.Tap(s.indexSave)
	if !s.banner.Visible() || !strings.Contains(s.banner.Text(), "not a web address") {
		t.Errorf("bad index URL: banner %v %q", s.banner.Visible(), s.banner.Text())
	}
	s.indexEntry.SetText("https://search.example.org/")
	test.Tap(s.indexSave)
	ctx := context.Background()
	h.waitFor("the index saved", func() bool {
		v, _, _ := h.lib.Setting(ctx, library.SettingSearchIndexURL)
		return v == "https://search.example.org" && strings.Contains(mutedText(s.indexNote), "Saved")
	})
	if s.banner.Visible() {
		t.Errorf("banner still shows %q after a good save", s.banner.Text())
	}

	test.Tap(s.removeBtns[srv.Host()])
	test.Tap(h.overlayButton("Remove"))
	h.waitFor("the instance removed", func() bool { return s.removeBtns[srv.Host()] == nil && h.screenShows("No instances yet.") })
	insts, err := h.lib.Instances(ctx)
	fatalIf(t, err)
	if len(insts) != 0 {
		t.Errorf("library still lists %v", insts)
	}
	d := h.ui.discover
	h.waitFor("the source picker updated", func() bool {
		for _, o := range d.source.Options {
			if strings.Contains(o, "Demo PeerTube") {
				return false
			}
		}
		return len(d.source.Options) == 2
	})
}
