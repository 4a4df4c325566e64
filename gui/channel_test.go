package gui

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/library"
)

// From a video, "More from this channel" lists that channel's catalog in
// Discover, with the channel in the source picker.
func TestMoreFromThisChannel(t *testing.T) {
	srv := peertubetest.NewSynthetic(24) // six channels, four videos each
	t.Cleanup(srv.Close)
	h := newHarness(t, srv, desktopSize)
	h.waitLoaded("the catalog")
	d := h.ui.discover
	if len(d.items) != 24 {
		t.Fatalf("catalog: %d items", len(d.items))
	}

	test.Tap(h.card(2))
	s := h.ui.video
	want := s.video.Channel
	if want.Name == "" {
		t.Fatal("the video has no channel")
	}
	test.Tap(s.moreChannel)
	if h.ui.screen != screenDiscover {
		t.Fatalf("screen = %q, want Discover", h.ui.screen)
	}
	h.waitFor("the channel's catalog", func() bool {
		return d.query.Source.Kind == library.SourceChannel && d.gen > 0 && !d.loading && len(d.items) == 4
	})
	for _, v := range d.items {
		if v.Channel.Name != want.Name {
			t.Errorf("%q is from channel %q, want %q", v.Name, v.Channel.Name, want.Name)
		}
	}
	if got := d.source.Selected; got != "Channel: "+want.DisplayName {
		t.Errorf("source picker shows %q", got)
	}
	// Back to the instance: the whole catalog again.
	d.source.SetSelectedIndex(0)
	h.waitFor("the instance catalog", func() bool {
		return d.query.Source.Kind == library.SourceInstance && !d.loading && len(d.items) == 24
	})
}
