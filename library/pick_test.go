package library

import (
	"context"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

func TestPickFile(t *testing.T) {
	f := func(res int, hls bool) VideoFile {
		return VideoFile{Resolution: res, HLS: hls, TorrentURL: "http://x/" + resolutionLabel(VideoFile{Resolution: res}) + ".torrent"}
	}
	noTorrent := VideoFile{Resolution: 2160, FileURL: "http://x/2160.mp4"}
	audio := f(0, true)
	all := []VideoFile{f(1080, false), f(720, false), f(360, false), f(1080, true), f(720, true), f(360, true), audio, noTorrent}
	for _, c := range []struct {
		name     string
		files    []VideoFile
		want     int
		max      int
		wantRes  int
		wantHLS  bool
		wantNone bool
	}{
		{name: "best at most the max", files: all, max: 1080, wantRes: 1080},
		{name: "max 720", files: all, max: 720, wantRes: 720},
		{name: "max 480 picks 360", files: all, max: 480, wantRes: 360},
		{name: "exact request", files: all, want: 360, max: 1080, wantRes: 360},
		{name: "exact request above the max", files: all, want: 1080, max: 360, wantRes: 1080},
		{name: "absent request falls back to the max rule", files: all, want: 480, max: 720, wantRes: 720},
		{name: "all above the max: the smallest", files: []VideoFile{f(1440, true), f(1080, true)}, max: 480, wantRes: 1080, wantHLS: true},
		{name: "origin order at equal resolution (HLS first)", files: []VideoFile{f(720, true), f(720, false)}, max: 1080, wantRes: 720, wantHLS: true},
		{name: "a file without torrent is not chosen", files: []VideoFile{noTorrent, f(240, true)}, max: 4320, wantRes: 240, wantHLS: true},
		{name: "audio only when nothing else", files: []VideoFile{audio}, max: 1080, wantRes: 0, wantHLS: true},
		{name: "audio only is not chosen over video", files: []VideoFile{audio, f(144, true)}, max: 1080, wantRes: 144, wantHLS: true},
		{name: "nothing", files: nil, max: 1080, wantNone: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := pickFile(c.files, c.want, c.max)
			if c.wantNone {
				if err == nil {
					t.Fatalf("picked %+v from nothing", got)
				}
				return
			}
			if err != nil || got.Resolution != c.wantRes || got.HLS != c.wantHLS {
				t.Errorf("picked %+v, %v; want %dp hls=%v", got, err, c.wantRes, c.wantHLS)
			}
		})
	}
	// Only files without torrent: one is returned; transferOf says why it
	// cannot be fetched (TestPlayBadFiles).
	if got, err := pickFile([]VideoFile{noTorrent}, 0, 1080); err != nil || got.Resolution != 2160 {
		t.Errorf("only a file without torrent: %+v, %v", got, err)
	}
}

func TestMaxResolutionSetting(t *testing.T) {
	l := openTest(t, Options{})
	ctx := context.Background()
	for value, want := range map[string]int{"": 1080, "720": 720, "480p": 480, "huge": 1080, "-5": 1080} {
		if err := l.SetSetting(ctx, SettingMaxResolution, value); err != nil {
			t.Fatal(err)
		}
		if got := l.maxResolution(ctx); got != want {
			t.Errorf("setting %q: %d, want %d", value, got, want)
		}
	}
}

// History: positions overwrite, watched is sticky, Continue watching shows
// what was started and not finished, most recent first.
func TestHistoryLists(t *testing.T) {
	s := peertubetest.NewSynthetic(3)
	defer s.Close()
	clk := newClock()
	l := openTest(t, Options{Now: clk.Now})
	ctx := context.Background()
	var uuids []string
	for k := range 3 {
		d := peertubetest.SyntheticVideo(s.URL, k)
		if _, err := l.OpenURL(ctx, s.URL+"/videos/watch/"+d.UUID); err != nil {
			t.Fatal(err)
		}
		uuids = append(uuids, d.UUID)
	}
	min := time.Minute
	// 0: started; 1: finished; 2: finished then restarted midway.
	steps := []struct {
		uuid     string
		pos, dur time.Duration
		watched  bool
	}{
		{uuids[0], 2 * min, 10 * min, false},
		{uuids[1], 10 * min, 10 * min, true},
		{uuids[2], 10 * min, 10 * min, true},
		{uuids[2], 3 * min, 10 * min, false},
	}
	for _, st := range steps {
		clk.Add(time.Second)
		if err := l.saveHistory(ctx, st.uuid, st.pos, st.dur, st.watched); err != nil {
			t.Fatal(err)
		}
	}
	h, err := l.History(ctx, 0)
	if err != nil || len(h) != 3 {
		t.Fatalf("history %+v, %v", h, err)
	}
	if h[0].Video.UUID != uuids[2] || h[1].Video.UUID != uuids[1] || h[2].Video.UUID != uuids[0] {
		t.Errorf("history order %v", []string{h[0].Video.UUID, h[1].Video.UUID, h[2].Video.UUID})
	}
	if !h[0].Watched || h[0].Position != 3*min || h[0].Video.Name == "" || !h[0].UpdatedAt.Equal(clk.Now()) {
		t.Errorf("restarted video: %+v", h[0])
	}
	cw, err := l.ContinueWatching(ctx, 10)
	if err != nil || len(cw) != 2 || cw[0].Video.UUID != uuids[2] || cw[1].Video.UUID != uuids[0] {
		t.Fatalf("continue watching %+v, %v", cw, err)
	}
	if h, _ := l.History(ctx, 1); len(h) != 1 {
		t.Errorf("limit 1 gave %d", len(h))
	}
	for uuid, want := range map[string]time.Duration{uuids[0]: 2 * min, uuids[1]: 0, uuids[2]: 3 * min, "unknown": 0} {
		if got, err := l.resumePosition(ctx, uuid); err != nil || got != want {
			t.Errorf("resume %s at %v, %v; want %v", uuid, got, err, want)
		}
	}
}
