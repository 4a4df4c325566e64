package media

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestPlanProbed(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	ladder := []int{1080, 720, 480, 360, 240, 144}
	cases := []struct {
		name   string
		path   string
		opt    PlanOptions
		ladder []int
		want   []Target
	}{
		{"web playable: kept, lower rungs only", genMP4(t, dir, "fast.mp4", 320, 240, 1, "-movflags", "+faststart"), PlanOptions{}, ladder,
			[]Target{{240, 320, 240, Keep}, {144, 192, 144, Transcode}}},
		{"web playable, re-encode asked", genMP4(t, dir, "fast2.mp4", 320, 240, 1, "-movflags", "+faststart"), PlanOptions{ReencodeOriginal: true}, ladder,
			[]Target{{240, 320, 240, Transcode}, {144, 192, 144, Transcode}}},
		{"moov at end: remux", genMP4(t, dir, "slow.mp4", 320, 240, 1), PlanOptions{}, ladder,
			[]Target{{240, 320, 240, Remux}, {144, 192, 144, Transcode}}},
		{"h264 mkv: remux", genMKV(t, dir), PlanOptions{}, []int{144}, []Target{{240, 320, 240, Remux}, {144, 192, 144, Transcode}}},
		{"vp9 webm: transcode", genWebM(t, dir), PlanOptions{}, ladder, []Target{{180, 320, 180, Transcode}, {144, 256, 144, Transcode}}},
		{"vertical", genMP4(t, dir, "v.mp4", 360, 640, 1, "-movflags", "+faststart"), PlanOptions{}, []int{720, 480, 360, 240},
			[]Target{{360, 360, 640, Keep}, {240, 240, 426, Transcode}}},
		{"odd size: no rung at or above the rounded source", genOdd(t, dir), PlanOptions{}, []int{480, 479, 478, 360, 360, -1, 0},
			[]Target{{478, 852, 478, Transcode}, {360, 642, 360, Transcode}}},
		{"no ladder", genWebM(t, dir), PlanOptions{}, nil, []Target{{180, 320, 180, Transcode}}},
		{"audio aac faststart: kept", genAudio(t, dir, "a.m4a", "-c:a", "aac", "-movflags", "+faststart"), PlanOptions{}, ladder, []Target{{0, 0, 0, Keep}}},
		{"audio aac, moov at end: remux", fixture(t, "video_short_0p.mp4"), PlanOptions{}, ladder, []Target{{0, 0, 0, Remux}}},
		{"audio mp3: transcode", genAudio(t, dir, "a.mp3", "-c:a", "libmp3lame"), PlanOptions{}, ladder, []Target{{0, 0, 0, Transcode}}},
		{"fixture fragmented 720p", fixture(t, "video_short_720p.mp4"), PlanOptions{}, []int{1080, 720, 480},
			[]Target{{720, 1365, 720, Keep}, {480, 910, 480, Transcode}}},
	}
	ctx := testCtx(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := Probe(ctx, c.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := Plan(info, c.ladder, c.opt); !slices.Equal(got, c.want) {
				t.Fatalf("Plan =\n%v\nwant\n%v", got, c.want)
			}
		})
	}
}

// Encoding every target of a plan gives files of exactly the planned sizes.
func TestPlanThenEncode(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	src := genOdd(t, dir)
	ctx := testCtx(t)
	info, err := Probe(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range Plan(info, []int{360, 240}, PlanOptions{}) {
		if tg.Mode != Transcode {
			t.Fatalf("target %+v: an odd-size 4:4:4 source must be transcoded", tg)
		}
		out := filepath.Join(dir, fmt.Sprintf("%dp.mp4", tg.Resolution))
		if err := Encode(ctx, Job{Input: src, Info: info, Output: out, Resolution: tg.Resolution, Preset: "ultrafast"}, nil); err != nil {
			t.Fatal(err)
		}
		checkOutput(t, out, info, tg.Width, tg.Height, true)
	}
}

func TestPlanRules(t *testing.T) {
	base := func(mod func(*Info)) Info {
		i := Info{
			Container: "mov,mp4,m4a,3gp,3g2,mj2", Brand: "isom", Duration: time.Minute, FastStart: true, Cover: -1,
			Video: &VideoStream{Codec: "h264", Profile: "High", Level: 40, Width: 1920, Height: 1080, SAR: 1, FPS: 30, PixFmt: "yuv420p"},
			Audio: &AudioStream{Codec: "aac"},
		}
		if mod != nil {
			mod(&i)
		}
		return i
	}
	first := func(i Info) Mode { return Plan(i, nil, PlanOptions{})[0].Mode }
	cases := []struct {
		name     string
		info     Info
		playable bool
		mode     Mode
	}{
		{"1080p h264 aac", base(nil), true, Keep},
		{"silent", base(func(i *Info) { i.Audio = nil }), true, Keep},
		{"level 5.2", base(func(i *Info) { i.Video.Level = 52 }), true, Keep},
		{"level 6.0", base(func(i *Info) { i.Video.Level = 60 }), false, Transcode},
		{"60 fps", base(func(i *Info) { i.Video.FPS = 60 }), true, Keep},
		{"59.94 fps", base(func(i *Info) { i.Video.FPS = 60000.0 / 1001 }), true, Keep},
		{"120 fps", base(func(i *Info) { i.Video.FPS = 120 }), false, Transcode},
		{"10-bit", base(func(i *Info) { i.Video.PixFmt = "yuv420p10le"; i.Video.Profile = "High 10" }), false, Transcode},
		{"4:4:4", base(func(i *Info) { i.Video.PixFmt = "yuv444p"; i.Video.Profile = "High 4:4:4 Predictive" }), false, Transcode},
		{"hevc", base(func(i *Info) { i.Video.Codec = "hevc"; i.Video.Profile = "Main" }), false, Transcode},
		{"opus audio", base(func(i *Info) { i.Audio.Codec = "opus" }), false, Transcode},
		{"quicktime mov", base(func(i *Info) { i.Brand = "qt  " }), false, Remux},
		{"3gp", base(func(i *Info) { i.Brand = "3gp4" }), false, Remux},
		{"no faststart", base(func(i *Info) { i.FastStart = false }), false, Remux},
		{"matroska", base(func(i *Info) { i.Container = "matroska,webm"; i.Brand = "" }), false, Remux},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := WebPlayable(c.info); got != c.playable {
				t.Errorf("WebPlayable = %v, want %v", got, c.playable)
			}
			if got := first(c.info); got != c.mode {
				t.Errorf("first target %v, want %v", got, c.mode)
			}
		})
	}
	// The default ladder under 1080p, highest first.
	got := Plan(base(nil), DefaultLadder, PlanOptions{})
	want := []Target{{1080, 1920, 1080, Keep}, {720, 1280, 720, Transcode}, {480, 854, 480, Transcode}, {360, 640, 360, Transcode}}
	if !slices.Equal(got, want) {
		t.Errorf("Plan(1080p, DefaultLadder) = %v", got)
	}
	if Plan(Info{}, DefaultLadder, PlanOptions{}) != nil {
		t.Error("Plan of an empty Info is not empty")
	}
	// Rotated portrait 1920×1080 with a quarter turn is 1080×1920 on screen.
	rot := base(func(i *Info) { i.Video.Rotation = 90 })
	if w, h := OutputSize(rot, 720); w != 720 || h != 1280 {
		t.Errorf("OutputSize(rotated, 720) = %dx%d", w, h)
	}
	// Anamorphic DVD: 720×576 with SAR 16:11 displays as 1047×576; the
	// even width is rounded down rather than past the source.
	dvd := base(func(i *Info) { i.Video.Width, i.Video.Height, i.Video.SAR = 720, 576, 16.0/11 })
	if w, h := OutputSize(dvd, 0); w != 1046 || h != 576 {
		t.Errorf("OutputSize(anamorphic) = %dx%d, want 1046x576", w, h)
	}
	if w, h := OutputSize(dvd, 360); w != 654 || h != 360 {
		t.Errorf("OutputSize(anamorphic, 360) = %dx%d, want 654x360", w, h)
	}
}
