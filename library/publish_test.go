package library

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/library/media"
	"github.com/fourmi-app/fourmi/peer"
)

func TestValidateMetadata(t *testing.T) {
	ok := Metadata{Title: "Good title"}
	long := func(n int) string { return strings.Repeat("é", n) } // characters, not bytes
	cases := []struct {
		name  string
		edit  func(*Metadata)
		field string // "" = valid
	}{
		{"minimal", func(m *Metadata) {}, ""},
		{"full", func(m *Metadata) { *m = testMeta("Full"); m.Support = "Thanks!"; m.Channel = "my.chan_1" }, ""},
		{"title 3 chars", func(m *Metadata) { m.Title = "abc" }, ""},
		{"title 2 chars", func(m *Metadata) { m.Title = "ab" }, "title"},
		{"title of spaces", func(m *Metadata) { m.Title = "     " }, "title"},
		{"title 120 chars", func(m *Metadata) { m.Title = long(120) }, ""},
		{"title 121 chars", func(m *Metadata) { m.Title = long(121) }, "title"},
		{"description 2 chars", func(m *Metadata) { m.Description = "ab" }, "description"},
		{"description 10000", func(m *Metadata) { m.Description = long(10000) }, ""},
		{"description 10001", func(m *Metadata) { m.Description = long(10001) }, "description"},
		{"5 tags", func(m *Metadata) { m.Tags = []string{"aa", "bb", "cc", "dd", "ee"} }, ""},
		{"6 tags", func(m *Metadata) { m.Tags = []string{"aa", "bb", "cc", "dd", "ee", "ff"} }, "tags"},
		{"tag 1 char", func(m *Metadata) { m.Tags = []string{"a"} }, "tags"},
		{"tag 30 chars", func(m *Metadata) { m.Tags = []string{long(30)} }, ""},
		{"tag 31 chars", func(m *Metadata) { m.Tags = []string{long(31)} }, "tags"},
		{"duplicate tags", func(m *Metadata) { m.Tags = []string{"Go", "go"} }, "tags"},
		{"unknown category", func(m *Metadata) { m.Category = 99 }, "category"},
		{"unknown licence", func(m *Metadata) { m.Licence = 8 }, "licence"},
		{"unknown language", func(m *Metadata) { m.Language = "xx" }, "language"},
		{"privacy 4", func(m *Metadata) { m.Privacy = 4 }, "privacy"},
		{"support 2 chars", func(m *Metadata) { m.Support = "ab" }, "support"},
		{"support 1001", func(m *Metadata) { m.Support = long(1001) }, "support"},
		{"channel with capitals", func(m *Metadata) { m.Channel = "MyChannel" }, "channel"},
		{"channel 51 chars", func(m *Metadata) { m.Channel = strings.Repeat("a", 51) }, "channel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := ok
			c.edit(&m)
			err := ValidateMetadata(m)
			if c.field == "" {
				if err != nil {
					t.Fatalf("ValidateMetadata = %v, want valid", err)
				}
				return
			}
			var ve ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ValidateMetadata = %v, want a ValidationError on %s", err, c.field)
			}
			if len(ve) != 1 || ve.For(c.field) == "" {
				t.Fatalf("errors %v, want exactly one on %s", ve, c.field)
			}
			t.Logf("%s: %s", c.field, ve.For(c.field))
		})
	}
	// Every failing field is listed at once, with the form's wording.
	err := ValidateMetadata(Metadata{Title: "ab", Tags: []string{"x"}, Category: -1})
	var ve ValidationError
	if !errors.As(err, &ve) || len(ve) != 3 {
		t.Fatalf("ValidateMetadata = %v, want 3 field errors", err)
	}
	if got := ve.For("title"); got != "Title must be between 3 and 120 characters" {
		t.Errorf("title message %q", got)
	}
}

func TestVocabularies(t *testing.T) {
	find := func(cs []Choice, id int, code string) string {
		for _, c := range cs {
			if c.ID == id && c.Code == code {
				return c.Label
			}
		}
		return ""
	}
	if n := len(Categories()); n != 18 {
		t.Errorf("%d categories, PeerTube 6.3 has 18", n)
	}
	if got := find(Categories(), 15, ""); got != "Science & Technology" {
		t.Errorf("category 15 = %q", got)
	}
	if n := len(Licences()); n != 7 || Licences()[6].Label != "Public Domain Dedication" {
		t.Errorf("licences %v", Licences())
	}
	for _, code := range []string{"en", "fr", "de", "es", "ja", "zh-Hans", "sgn"} {
		if find(Languages(), 0, code) == "" {
			t.Errorf("language %q missing", code)
		}
	}
	labels := func(cs []Choice) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Label)
		}
		return out
	}
	if l := labels(Categories()); !slices.IsSorted(l) {
		t.Errorf("categories not sorted: %v", l)
	}
}

// Each kind of input becomes web-playable H.264/AAC MP4 files with images,
// a seeded torrent and a catalog entry that Play and local search find.
func TestPublishInputs(t *testing.T) {
	needFFmpeg(t)
	in := t.TempDir()
	fixture := filepath.Join("..", "..", "shared", "fixtures", "peertube", "packages", "tests", "fixtures", "video_short.webm")
	cases := []struct {
		name     string
		file     string
		res      []int
		wantRes  []int
		wantMode string // keep: the output is the source byte for byte
	}{
		{"h264 mp4 kept", genH264MP4(t, in), nil, []int{240}, "keep"},
		{"vp9 webm", genVP9WebM(t, in), nil, []int{144}, ""},
		{"mkv remuxed", genMKV(t, in), nil, []int{144}, ""},
		{"audio only", genAudio(t, in), nil, []int{0}, ""},
		{"vertical", genVertical(t, in), nil, []int{144}, ""},
		{"odd 853x479 with a ladder", genOdd(t, in), []int{1080, 360, 240}, []int{478, 360, 240}, ""},
	}
	if _, err := os.Stat(fixture); err == nil {
		cases = append(cases, struct {
			name     string
			file     string
			res      []int
			wantRes  []int
			wantMode string
		}{"peertube fixture webm", fixture, nil, nil, ""})
	}
	l := startPublishLib(t, Options{})
	ctx := context.Background()
	var mu sync.Mutex
	events := map[string][]PublishProgress{}
	unsub := l.SubscribePublish(func(p PublishProgress) {
		mu.Lock()
		events[p.UUID] = append(events[p.UUID], p)
		mu.Unlock()
	})
	defer unsub()
	queued := make([]LocalVideo, len(cases))
	for i, c := range cases {
		v, err := l.Publish(ctx, PublishRequest{File: c.file, Meta: testMeta("Input " + c.name), Resolutions: c.res})
		if err != nil {
			t.Fatalf("Publish(%s): %v", c.name, err)
		}
		if v.State != PublishQueued && v.State != PublishRunning {
			t.Fatalf("new job is %s", v.State)
		}
		if v.UUID[14] != '4' || !strings.ContainsRune("89ab", rune(v.UUID[19])) {
			t.Fatalf("%s is not a UUID v4", v.UUID)
		}
		queued[i] = v
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			defer cancel()
			v, err := l.WaitPublished(wctx, queued[i].UUID)
			if err != nil {
				t.Fatalf("WaitPublished: %v", err)
			}
			var got []int
			for _, f := range v.Files {
				got = append(got, f.Resolution)
			}
			if c.wantRes != nil && !slices.Equal(got, c.wantRes) {
				t.Fatalf("resolutions %v, want %v", got, c.wantRes)
			}
			dir := l.videoDir(v.UUID)
			if v.Thumbnail != filepath.Join(dir, "thumbnail.jpg") || v.Preview != filepath.Join(dir, "preview.jpg") {
				t.Errorf("images %q %q", v.Thumbnail, v.Preview)
			}
			for _, p := range []string{v.Thumbnail, v.Preview} {
				if st, err := os.Stat(p); err != nil || st.Size() == 0 {
					t.Errorf("image %s: %v", p, err)
				}
			}
			if v.Duration <= 0 || v.PublishedAt.IsZero() || v.Progress.Overall != 1 {
				t.Errorf("duration %v, published %v, overall %v", v.Duration, v.PublishedAt, v.Progress.Overall)
			}
			for _, f := range v.Files {
				if f.Path != filepath.Join(dir, v.UUID+"-"+itoaRes(f.Resolution)+".mp4") {
					t.Errorf("file path %s", f.Path)
				}
				info, err := media.Probe(ctx, f.Path)
				if err != nil {
					t.Fatalf("probing the output: %v", err)
				}
				if !media.WebPlayable(info) || info.Video == nil {
					t.Errorf("output %s is not a web-playable video: %+v", f.Path, info)
				}
				if info.Audio == nil && c.name != "vertical" && c.name != "odd 853x479 with a ladder" {
					t.Errorf("output %s lost its audio", f.Path)
				}
				if f.Resolution > 0 && min(f.Width, f.Height) != f.Resolution {
					t.Errorf("file %dp is %dx%d", f.Resolution, f.Width, f.Height)
				}
				if f.Size != info.Size || f.InfoHash == "" || !strings.HasPrefix(f.Magnet, "magnet:?xt=urn:btih:"+f.InfoHash) {
					t.Errorf("file %+v", f)
				}
				if !strings.Contains(f.Magnet, "&xl="+itoa64(f.Size)) || !strings.Contains(f.Magnet, "&dn="+v.UUID) {
					t.Errorf("magnet %s lacks dn/xl", f.Magnet)
				}
				tb, err := os.ReadFile(f.TorrentPath)
				if err != nil {
					t.Fatal(err)
				}
				ti, err := peer.ParseTorrent(tb)
				if err != nil || ti.InfoHash.String() != f.InfoHash || ti.Name != filepath.Base(f.Path) {
					t.Errorf("torrent %+v %v", ti, err)
				}
				tr, err := l.TransferByHash(ctx, f.InfoHash)
				if err != nil || tr.State != StateSeeding || tr.VideoUUID != v.UUID || tr.Stats.Completed != f.Size {
					t.Errorf("transfer %+v %v, want seeding and complete", tr, err)
				}
			}
			if c.wantMode == "keep" {
				a, _ := os.ReadFile(c.file)
				b, _ := os.ReadFile(v.Files[0].Path)
				if !bytes.Equal(a, b) {
					t.Error("a web-playable MP4 was re-encoded instead of published as it is")
				}
			}
			if names := strays(t, dir); len(names) > 0 {
				t.Errorf("temporary files left: %v", names)
			}
			// The catalog has it: Play's file choice and local search.
			cv, f, err := l.videoFile(ctx, v.UUID, 0)
			if err != nil || cv.Name != v.Meta.Title || f.MagnetURI == "" {
				t.Errorf("videoFile = %+v %+v %v", cv, f, err)
			}
			if cv.Category != "Science & Technology" || cv.Licence != "Attribution" || cv.Language != "English" ||
				!slices.Equal(cv.Tags, []string{"test", "fourmi"}) || cv.Channel.Name != DefaultChannel {
				t.Errorf("catalog entry %+v", cv)
			}
			found, err := l.SearchLocal(ctx, v.Meta.Title, 10)
			if err != nil || !slices.Contains(uuids(found), v.UUID) {
				t.Errorf("SearchLocal(%q) = %v %v", v.Meta.Title, uuids(found), err)
			}
			mu.Lock()
			evs := events[v.UUID]
			mu.Unlock()
			if len(evs) < 3 || evs[len(evs)-1].State != PublishDone {
				t.Fatalf("events %+v", evs)
			}
			last := evs[len(evs)-1]
			steps := map[PublishStep]int{}
			for _, s := range last.Steps {
				steps[s.Step]++
				if !s.Done {
					t.Errorf("step %+v not done", s)
				}
			}
			if steps[StepProbe] != 1 || steps[StepThumbnails] != 1 || steps[StepEncode] != len(v.Files) ||
				steps[StepHash] != len(v.Files) || steps[StepSeed] != 1 {
				t.Errorf("steps %+v", last.Steps)
			}
		})
	}
	if names := strays(t, l.Dir()); len(names) > 0 {
		t.Errorf("temporary files left: %v", names)
	}
	// The stream server plays a published file (what "Watch" does without a player).
	p, err := l.Stream(ctx, queued[0].UUID, 0)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer p.Stop()
	if !strings.HasPrefix(p.StreamURL(), "http://127.0.0.1:") {
		t.Errorf("stream URL %s", p.StreamURL())
	}
}

func itoaRes(n int) string { return itoa64(int64(n)) }

func itoa64(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
