package federation

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

var localOpt = ValidateOptions{AllowLocalhost: true, Strict: true}

const capturedVideoID = "http://127.0.0.1:9000/videos/watch/753d39e4-b7c2-4fe4-9376-587015d360be"

// capturedVideos: every Video PeerTube 6.3 served or sent, standalone or
// embedded in a Create or Update.
func capturedVideos(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{"ap-video-watch.json", "ap-video-w-short.json", "ap-video-watch-ldjson.json"} {
		out[f] = captured(t, f)
	}
	embedded := map[string][]byte{
		"ap-video-activity.json (Create)": captured(t, "ap-video-activity.json"),
	}
	var page struct {
		OrderedItems []json.RawMessage `json:"orderedItems"`
	}
	if err := json.Unmarshal(captured(t, "ap-account-root-outbox-page1.json"), &page); err != nil {
		t.Fatal(err)
	}
	embedded["ap-account-root-outbox-page1.json item 0"] = page.OrderedItems[0]
	for name, body := range inboundActivities(t) {
		if strings.Contains(name, "Update") {
			embedded[name] = body
		}
	}
	for name, b := range embedded {
		var a struct {
			Object json.RawMessage `json:"object"`
		}
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		out[name] = a.Object
	}
	if len(out) < 8 {
		t.Fatalf("found %d captured videos", len(out))
	}
	return out
}

func TestCapturedVideosPass(t *testing.T) {
	for name, raw := range capturedVideos(t) {
		t.Run(name, func(t *testing.T) {
			v, err := ParseVideo(raw, localOpt)
			if err != nil {
				t.Fatal(err)
			}
			// Nothing but the text/html link and the ws:// tracker is dropped.
			if _, err := ParseVideo(raw, ValidateOptions{AllowLocalhost: true, Strict: true, Exact: true}); err != nil {
				t.Errorf("exact: %v", err)
			}
			// IP hosts pass even without the localhost option, as in PeerTube.
			if _, err := ParseVideo(raw, ValidateOptions{Strict: true}); err != nil {
				t.Errorf("without AllowLocalhost: %v", err)
			}
			if v.Type != TypeVideo || !uuidV4.MatchString(v.UUID) || !v.IsPublic() {
				t.Errorf("type %q uuid %q public %v", v.Type, v.UUID, v.IsPublic())
			}
			if secs, err := v.DurationSeconds(); err != nil || secs <= 0 {
				t.Errorf("duration %q: %d %v", v.Duration, secs, err)
			}
			ch, ok := v.Channel()
			if !ok || !strings.HasSuffix(ch.ID, "/video-channels/root_channel") {
				t.Errorf("channel %+v", ch)
			}
			if acc, ok := v.Account(); !ok || !strings.HasSuffix(acc.ID, "/accounts/root") {
				t.Errorf("account %+v", acc)
			}
			files := v.Files()
			if len(files) == 0 {
				t.Fatal("no files")
			}
			for _, f := range files {
				if f.Size <= 0 || f.Height <= 0 || f.FPS != 25 || f.TorrentURL == "" || len(f.InfoHash) != 40 {
					t.Errorf("incomplete file %+v", f)
				}
			}
			if th := v.Thumbnail(); th == nil || th.Width != 280 {
				t.Errorf("thumbnail %+v", th)
			}
			// PeerTube keeps http(s) trackers only: the ws:// one is dropped.
			if tr := v.Trackers(); len(tr) != 1 || !strings.HasSuffix(tr[0], "/tracker/announce") {
				t.Errorf("trackers %v", tr)
			}
		})
	}
}

func TestCapturedVideoDetails(t *testing.T) {
	v, err := ParseVideo(captured(t, "ap-video-watch.json"), localOpt)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != capturedVideoID || v.UUID != "753d39e4-b7c2-4fe4-9376-587015d360be" || v.Duration != "PT10S" || v.Name != "Interop test video" {
		t.Errorf("identity: %+v", v)
	}
	files := v.Files()
	if len(files) != 4 {
		t.Fatalf("want 2 web videos and 2 HLS files, got %d", len(files))
	}
	want := File{
		URL: "http://127.0.0.1:9000/static/web-videos/2f704993-adfd-4a83-a3a4-b07f1e680cf6-360.mp4", MediaType: MediaTypeMP4,
		Height: 360, Width: 640, Size: 178603, FPS: 25,
		TorrentURL: "http://127.0.0.1:9000/lazy-static/torrents/2e66724f-fade-4928-abda-512ab3cc2bb1-360.torrent",
		InfoHash:   "cab7a3977c4d43f7167a5132ebe498a21253172d",
	}
	got := files[0]
	got.MagnetURI = ""
	if got != want {
		t.Errorf("first file\nwant %+v\ngot  %+v", want, got)
	}
	if !files[2].HLS || files[2].Size != 176417 || files[2].InfoHash != "3b9adf06f30b41f3e05caf1a0aa01b651cfa36b5" {
		t.Errorf("HLS file %+v", files[2])
	}
	if v.Category == nil || v.Category.Identifier != "15" || v.Licence.Identifier != "1" || v.Language.Identifier != "en" {
		t.Errorf("category/licence/language %+v %+v %+v", v.Category, v.Licence, v.Language)
	}
	if v.CommentsPolicy != 1 || !v.DownloadEnabled || v.State != 1 || v.LatencyMode != 1 {
		t.Errorf("flags: policy %d download %v state %d latency %d", v.CommentsPolicy, v.DownloadEnabled, v.State, v.LatencyMode)
	}
	pub, err := ParseDate(v.Published)
	if err != nil || !pub.Equal(time.Date(2026, 11, 23, 2, 25, 55, 961e6, time.UTC)) {
		t.Errorf("published %q → %v %v", v.Published, pub, err)
	}
}

// TestVideoRoundTrip: what Fourmi re-emits of a captured video keeps every
// property PeerTube reads, byte for byte in url[] (uuid, size, fps, array
// rel, the HLS tag[] with Infohash entries, attachments).
func TestVideoRoundTrip(t *testing.T) {
	for name, raw := range capturedVideos(t) {
		t.Run(name, func(t *testing.T) {
			v, err := ParseVideo(raw, localOpt)
			if err != nil {
				t.Fatal(err)
			}
			out := mustJSON(t, v)
			want, got := toMap(t, raw), toMap(t, out)
			want["url"] = peerTubeKeeps(want["url"].([]any))
			sameJSON(t, name, want, got, "type", "id", "name", "duration", "uuid", "category", "licence", "language",
				"views", "sensitive", "waitTranscoding", "state", "commentsEnabled", "commentsPolicy", "downloadEnabled",
				"published", "updated", "tag", "mediaType", "content", "icon", "preview", "aspectRatio", "url",
				"likes", "dislikes", "shares", "comments", "hasParts", "attributedTo", "to", "cc", "isLiveBroadcast")
			if got["@context"] == nil || !strings.Contains(string(out), `"uuid":{"@type":"sc:identifier","@id":"pt:uuid"}`) {
				t.Error("PeerTube's JSON-LD context is missing")
			}
			again, err := ParseVideo(out, localOpt)
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if string(mustJSON(t, again)) != string(out) {
				t.Error("second round trip changed the JSON")
			}
		})
	}
}

// peerTubeKeeps is url[] minus what PeerTube 6.3's sanitizer drops from its
// own output: the text/html watch link (no rule matches it) and the ws://
// tracker (isActivityPubUrlValid allows http and https only).
func peerTubeKeeps(urls []any) []any {
	var out []any
	for _, u := range urls {
		l := u.(map[string]any)
		href, _ := l["href"].(string)
		if l["mediaType"] == "text/html" || strings.HasPrefix(href, "ws") {
			continue
		}
		out = append(out, u)
	}
	return out
}

func TestSyntheticVideoPasses(t *testing.T) {
	raw, err := os.ReadFile(fixtures(t, "video-object.synthetic.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVideo(raw, ValidateOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	files := v.Files()
	if len(files) != 1 || !files[0].HLS || files[0].Size != 59109 || files[0].InfoHash != "89abcdef0123456789abcdef0123456789abcdef" {
		t.Errorf("HLS-only video files: %+v", files)
	}
	if v.Support != "https://example.org/donate" || v.UploadDate == "" {
		t.Errorf("support %q uploadDate %q", v.Support, v.UploadDate)
	}
	want := toMap(t, raw)
	want["url"] = peerTubeKeeps(want["url"].([]any))
	sameJSON(t, "synthetic", want, toMap(t, mustJSON(t, v)), "url", "icon", "attributedTo", "tag")
}

// TestVideoMutations: each change to a valid captured Video fails on the
// field PeerTube 6.3 names (or passes, where PeerTube is lenient).
func TestVideoMutations(t *testing.T) {
	base := captured(t, "ap-video-watch.json")
	del := func(k string) func(m map[string]any) { return func(m map[string]any) { delete(m, k) } }
	set := func(k string, v any) func(m map[string]any) { return func(m map[string]any) { m[k] = v } }
	firstIcon := func(m map[string]any) map[string]any { return m["icon"].([]any)[0].(map[string]any) }
	cases := []struct {
		name  string
		f     func(m map[string]any)
		opt   ValidateOptions
		field string // "" means it must pass
	}{
		{"uuid not v4", set("uuid", "753d39e4-b7c2-1fe4-9376-587015d360be"), localOpt, "uuid"},
		{"uuid missing", del("uuid"), localOpt, "uuid"},
		{"uuid from identifier (PeerTube < 6.1)", func(m map[string]any) {
			m["identifier"] = m["uuid"]
			delete(m, "uuid")
		}, localOpt, ""},
		{"duration 20", set("duration", "20"), localOpt, "duration"},
		{"duration PT20M", set("duration", "PT20M"), localOpt, "duration"},
		{"duration number", set("duration", 20.0), localOpt, "duration"},
		{"duration PTS", set("duration", "PTS"), localOpt, "duration"},
		{"duration PT1M20S (PeerTube strips letters)", set("duration", "PT1M20S"), localOpt, ""},
		{"name 2 chars", set("name", "ab"), localOpt, "name"},
		{"name 121 chars", set("name", strings.Repeat("n", 121)), localOpt, "name"},
		{"name 120 chars", set("name", strings.Repeat("n", 120)), localOpt, ""},
		{"name 120 emoji", set("name", strings.Repeat("🐜", 120)), localOpt, ""},
		{"name number", set("name", 123.0), localOpt, "name"},
		{"views many", set("views", "many"), localOpt, "views"},
		{"views -1", set("views", -1.0), localOpt, "views"},
		{"views 1.5", set("views", 1.5), localOpt, "views"},
		{"views missing", del("views"), localOpt, "views"},
		{"views numeric string", set("views", "42"), localOpt, ""},
		{"no icon", del("icon"), localOpt, "icon"},
		{"icon png only", func(m map[string]any) {
			for _, im := range m["icon"].([]any) {
				im.(map[string]any)["mediaType"] = "image/png"
			}
		}, localOpt, "icon"},
		{"icon single object", func(m map[string]any) { m["icon"] = firstIcon(m) }, localOpt, ""},
		{"icon width not integer", func(m map[string]any) {
			for _, im := range m["icon"].([]any) {
				im.(map[string]any)["width"] = "wide"
			}
		}, localOpt, "icon"},
		{"attributedTo empty", set("attributedTo", []any{}), localOpt, "attributedTo"},
		{"attributedTo single object (6.3 refuses)", func(m map[string]any) { m["attributedTo"] = m["attributedTo"].([]any)[1] }, localOpt, "attributedTo"},
		{"attributedTo single object, lenient", func(m map[string]any) { m["attributedTo"] = m["attributedTo"].([]any)[1] },
			ValidateOptions{AllowLocalhost: true, Lenient: true, Strict: true}, ""},
		{"attributedTo bare URLs (v8), not strict", set("attributedTo", []any{"http://127.0.0.1:9000/accounts/root", "http://127.0.0.1:9000/video-channels/root_channel"}),
			ValidateOptions{AllowLocalhost: true}, ""},
		{"attributedTo bare URLs, strict: 6.3 finds no channel", set("attributedTo", []any{"http://127.0.0.1:9000/accounts/root", "http://127.0.0.1:9000/video-channels/root_channel"}),
			localOpt, "attributedTo"},
		{"attributedTo channel on another host", set("attributedTo", []any{
			map[string]any{"type": "Person", "id": "http://127.0.0.1:9000/accounts/root"},
			map[string]any{"type": "Group", "id": "https://elsewhere.example/video-channels/x"}}), localOpt, "attributedTo"},
		{"attributedTo null entry", set("attributedTo", []any{nil}), localOpt, "attributedTo"},
		{"content without mediaType", del("mediaType"), localOpt, "mediaType"},
		{"content 2 chars", set("content", "ab"), localOpt, "content"},
		{"content empty", set("content", ""), localOpt, "content"},
		{"content null", set("content", nil), localOpt, ""},
		{"content html", set("mediaType", "text/html"), localOpt, ""},
		{"published bad", set("published", "yesterday"), localOpt, "published"},
		{"published number", set("published", 12345.0), localOpt, "published"},
		{"published date only", set("published", "2026-11-23"), localOpt, ""},
		{"updated missing", del("updated"), localOpt, "updated"},
		{"originallyPublishedAt bad", set("originallyPublishedAt", "soon"), localOpt, "originallyPublishedAt"},
		{"url not an array", set("url", "http://127.0.0.1:9000/static/web-videos/x.mp4"), localOpt, "url"},
		{"url missing", del("url"), localOpt, "url"},
		{"url null entry", func(m map[string]any) { m["url"] = append(m["url"].([]any), nil) }, localOpt, "url"},
		{"url without any file, strict", set("url", []any{}), localOpt, "url"},
		{"url without any file, not strict", set("url", []any{}), ValidateOptions{AllowLocalhost: true}, ""},
		{"magnet info-hash bad, strict", func(m map[string]any) {
			for _, u := range m["url"].([]any) {
				if l := u.(map[string]any); l["mediaType"] == MediaTypeMagnet {
					l["href"] = "magnet:?xt=urn:btih:nothex"
				}
			}
		}, localOpt, "url"},
		{"id not a URL", set("id", "videos/watch/1"), localOpt, "id"},
		{"id ftp", set("id", "ftp://127.0.0.1/videos/watch/1"), localOpt, "id"},
		{"id too long", set("id", "https://video.example/"+strings.Repeat("a", 2000)), localOpt, "id"},
		{"id localhost without option", set("id", "http://localhost:9000/videos/watch/1"), ValidateOptions{}, "id"},
		{"id localhost with option", set("id", "http://localhost:9000/videos/watch/1"), ValidateOptions{AllowLocalhost: true}, ""},
		{"id from another host than fetched", nil, ValidateOptions{AllowLocalhost: true, Origin: "http://127.0.0.1:9001/videos/watch/x"}, "id"},
		{"type Note", set("type", "Note"), localOpt, "type"},
		{"category not numeric", set("category", map[string]any{"identifier": "music"}), localOpt, "category"},
		{"category numeric identifier", set("category", map[string]any{"identifier": 15.0}), localOpt, "category"},
		{"language identifier number", set("language", map[string]any{"identifier": 5.0}), localOpt, "language"},
		{"licence negative", set("licence", map[string]any{"identifier": "-1"}), localOpt, "licence"},
		{"licence without identifier", set("licence", map[string]any{"name": "x"}), localOpt, "licence"},
		{"to null", set("to", nil), localOpt, ""}, // a Video's to is not checked, only an activity's
		{"subtitleLanguage not an array", set("subtitleLanguage", "en"), localOpt, "subtitleLanguage"},
		{"subtitleLanguage string entry", set("subtitleLanguage", []any{"en"}), localOpt, "subtitleLanguage"},
		{"preview not an array", set("preview", map[string]any{}), localOpt, "preview"},
		{"tag null entry", set("tag", []any{nil}), localOpt, "tag"},
		{"tag name number", set("tag", []any{map[string]any{"type": "Hashtag", "name": 5.0}}), localOpt, "tag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := base
			if tc.f != nil {
				raw = mutate(t, base, tc.f)
			}
			_, err := ParseVideo(raw, tc.opt)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("PeerTube accepts this: %v", err)
				}
				return
			}
			wantField(t, err, tc.field)
		})
	}
}

// TestVideoSanitizing: PeerTube's side effects — filtering and defaults.
func TestVideoSanitizing(t *testing.T) {
	raw := mutate(t, captured(t, "ap-video-watch.json"), func(m map[string]any) {
		m["tag"] = append(m["tag"].([]any),
			map[string]any{"type": "Hashtag", "name": "x"},                     // too short
			map[string]any{"type": "Mention", "name": "someone"},               // not a Hashtag
			map[string]any{"type": "Hashtag", "name": strings.Repeat("t", 31)}, // too long
		)
		m["url"] = append(m["url"].([]any),
			map[string]any{"type": "Link", "mediaType": "video/mp4", "href": "http://127.0.0.1:9000/x.mp4", "height": "abc", "size": 1.0},
			map[string]any{"type": "Link", "mediaType": "video/mp4", "href": "not a url", "height": 1.0, "size": 1.0},
			"a string entry",
			map[string]any{"type": "Link", "mediaType": "video/x-matroska", "href": "http://127.0.0.1:9000/x.mkv", "height": 1.0, "size": 1.0},
		)
		m["icon"] = append(m["icon"].([]any), map[string]any{"type": "Image", "url": "http://127.0.0.1:9000/a.png", "mediaType": "image/png", "width": 1.0, "height": 1.0})
		m["subtitleLanguage"] = []any{
			map[string]any{"identifier": "fr", "name": "French", "url": "not a url"},
			map[string]any{"name": "no identifier"},
		}
		m["licence"] = map[string]any{"identifier": "CC-BY-SA-4.0", "name": "CC BY-SA"}
		m["content"] = strings.Repeat("é", 10050)
		for _, k := range []string{"downloadEnabled", "commentsPolicy", "state", "latencyMode", "sensitive"} {
			delete(m, k)
		}
		m["waitTranscoding"] = "yes" // not a boolean PeerTube reads: default false
		m["isLiveBroadcast"] = "1"   // a boolean string PeerTube reads
		m["commentsEnabled"] = true
	})
	v, err := ParseVideo(raw, localOpt)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Tag) != 2 || v.Tag[0].Name != "interop" {
		t.Errorf("tags not filtered: %+v", v.Tag)
	}
	if len(v.URL) != 10 {
		t.Errorf("url entries not filtered: %d, want the 10 PeerTube keeps", len(v.URL))
	}
	if len(v.Icon) != 2 {
		t.Errorf("icons not filtered: %+v", v.Icon)
	}
	if len(v.SubtitleLanguage) != 1 || v.SubtitleLanguage[0].URL != "" {
		t.Errorf("captions: %+v", v.SubtitleLanguage)
	}
	if v.Licence.Identifier != "2" {
		t.Errorf("SPDX licence not mapped: %+v", v.Licence)
	}
	if jsLength(v.Content) != 10000 || !strings.HasSuffix(v.Content, "...") {
		t.Errorf("content not truncated: %d characters", jsLength(v.Content))
	}
	if !v.DownloadEnabled || v.CommentsPolicy != 1 || v.State != 1 || v.LatencyMode != 1 || v.Sensitive || v.WaitTranscoding || !v.IsLiveBroadcast {
		t.Errorf("defaults: download %v policy %d state %d latency %d sensitive %v wait %v live %v",
			v.DownloadEnabled, v.CommentsPolicy, v.State, v.LatencyMode, v.Sensitive, v.WaitTranscoding, v.IsLiveBroadcast)
	}
	// An unknown SPDX licence is dropped, not refused.
	v, err = ParseVideo(mutate(t, captured(t, "ap-video-watch.json"), func(m map[string]any) {
		m["licence"] = map[string]any{"identifier": "WTFPL"}
	}), localOpt)
	if err != nil || v.Licence == nil || v.Licence.Identifier != "" {
		t.Errorf("unknown SPDX licence: %+v %v", v.Licence, err)
	}
}

// fourmiVideo is a Video as the server will build it.
func fourmiVideo() *Video {
	const host = "https://fourmi.example"
	id := host + "/videos/watch/0d9e3b36-7a4c-4f0e-9d5b-1c2d3e4f5a6b"
	return &Video{
		To:              IRIs{Public},
		Cc:              IRIs{host + "/accounts/alice/followers"},
		Type:            TypeVideo,
		ID:              id,
		Name:            "A walk in the woods",
		Duration:        FormatDuration(5),
		UUID:            "0d9e3b36-7a4c-4f0e-9d5b-1c2d3e4f5a6b",
		Views:           0,
		State:           1,
		CommentsEnabled: false,
		CommentsPolicy:  2,
		DownloadEnabled: true,
		Published:       FormatDate(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)),
		Updated:         FormatDate(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)),
		Tag:             []Tag{{Type: TypeHashtag, Name: "nature"}},
		MediaType:       MediaTypeMarkdown,
		Content:         "Birds, trees and a river.",
		Icon:            Images{{Type: TypeImage, URL: host + "/static/thumbnails/0d9e.jpg", MediaType: MediaTypeJPEG, Width: 280, Height: 157}},
		URL: []Link{
			{Type: TypeLink, MediaType: MediaTypeHTML, Href: id},
			{Type: TypeLink, MediaType: MediaTypeMP4, Href: host + "/static/web-videos/0d9e-720.mp4", Height: 720, Width: 1280, Size: 1234567, FPS: 30},
			{Type: TypeLink, MediaType: MediaTypeTorrent, Href: host + "/static/torrents/0d9e-720.torrent", Height: 720, Width: 1280, FPS: 30},
			{Type: TypeLink, MediaType: MediaTypeMagnet, Href: "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=walk", Height: 720, Width: 1280, FPS: 30},
			{Type: TypeLink, Name: "tracker-http", Rel: []string{"tracker", "http"}, Href: host + "/tracker/announce"},
		},
		AttributedTo: ActorRefs{{Type: TypePerson, ID: host + "/accounts/alice"}, {Type: TypeGroup, ID: host + "/video-channels/alice_channel"}},
	}
}

// TestFourmiVideo: a Video built in Go passes strictly, through its JSON too,
// and each broken field is named.
func TestFourmiVideo(t *testing.T) {
	v := fourmiVideo()
	if err := ValidateVideo(v, ValidateOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseVideo(mustJSON(t, v), ValidateOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	m := toMap(t, mustJSON(t, fourmiVideo()))
	torrent := m["url"].([]any)[2].(map[string]any)
	if _, has := torrent["size"]; has || torrent["height"] != 720.0 {
		t.Errorf("torrent link as PeerTube writes it (height, no size): %v", torrent)
	}
	file := m["url"].([]any)[1].(map[string]any)
	if file["size"] != 1234567.0 || file["fps"] != 30.0 {
		t.Errorf("file link: %v", file)
	}
	exact := ValidateOptions{Strict: true, Exact: true}
	withWS := fourmiVideo()
	withWS.URL = append(withWS.URL, Link{Type: TypeLink, Name: "tracker-websocket", Rel: []string{"tracker", "websocket"}, Href: "wss://fourmi.example/tracker/socket"})
	if err := ValidateVideo(withWS, exact); err != nil {
		t.Errorf("the watch page and a wss tracker are tolerated drops: %v", err)
	}
	if len(withWS.URL) != 4 {
		t.Errorf("sanitized url[] has %d entries, want the 4 PeerTube keeps", len(withWS.URL))
	}
	for name, tc := range map[string]struct {
		f     func(v *Video)
		field string
	}{
		"tag too short":         {func(v *Video) { v.Tag = append(v.Tag, Tag{Type: TypeHashtag, Name: "x"}) }, "tag"},
		"torrent relative href": {func(v *Video) { v.URL[2].Href = "/static/torrents/0d9e-720.torrent" }, "url"},
		"one png icon": {func(v *Video) {
			v.Icon = append(v.Icon, Image{Type: TypeImage, URL: v.Icon[0].URL, MediaType: "image/png"})
		}, "icon"},
		"content too long": {func(v *Video) { v.Content = strings.Repeat("a", 10001) }, "content"},
		"attributedTo junk": {func(v *Video) {
			v.AttributedTo = append(v.AttributedTo, ActorRef{Type: TypeService, ID: "https://x.example/s"})
		}, "attributedTo"},
	} {
		v := fourmiVideo()
		tc.f(v)
		if err := ValidateVideo(v, ValidateOptions{Strict: true}); err != nil {
			t.Errorf("%s: PeerTube only drops it: %v", name, err)
		}
		v = fourmiVideo()
		tc.f(v)
		t.Run("exact "+name, func(t *testing.T) { wantField(t, ValidateVideo(v, exact), tc.field) })
	}

	audio := fourmiVideo()
	audio.URL[1].Height, audio.URL[1].Width = 0, 0 // audio only: height 0 must still be written
	if err := ValidateVideo(audio, ValidateOptions{Strict: true}); err != nil {
		t.Errorf("audio-only file: %v", err)
	}

	cases := map[string]struct {
		f     func(v *Video)
		field string
	}{
		"uuid not v4":             {func(v *Video) { v.UUID = "0d9e3b36-7a4c-1f0e-9d5b-1c2d3e4f5a6b" }, "uuid"},
		"duration 20":             {func(v *Video) { v.Duration = "20" }, "duration"},
		"duration PT20M":          {func(v *Video) { v.Duration = "PT20M" }, "duration"},
		"name 2 chars":            {func(v *Video) { v.Name = "ab" }, "name"},
		"name 121 chars":          {func(v *Video) { v.Name = strings.Repeat("x", 121) }, "name"},
		"no icon":                 {func(v *Video) { v.Icon = nil }, "icon"},
		"icon png only":           {func(v *Video) { v.Icon[0].MediaType = "image/png" }, "icon"},
		"attributedTo empty":      {func(v *Video) { v.AttributedTo = nil }, "attributedTo"},
		"content without type":    {func(v *Video) { v.MediaType = "" }, "mediaType"},
		"bad published":           {func(v *Video) { v.Published = "2026-13-01" }, "published"},
		"url nil":                 {func(v *Video) { v.URL = nil }, "url"},
		"no channel":              {func(v *Video) { v.AttributedTo = v.AttributedTo[:1] }, "attributedTo"},
		"id without TLD":          {func(v *Video) { v.ID = "https://fourmi/videos/watch/x" }, "id"},
		"only the watch page url": {func(v *Video) { v.URL = v.URL[:1] }, "url"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := fourmiVideo()
			tc.f(v)
			wantField(t, ValidateVideo(v, ValidateOptions{Strict: true}), tc.field)
		})
	}
}

func TestDurationAndDates(t *testing.T) {
	for s, want := range map[string]int{"PT10S": 10, "PT0S": 0, "PT1M30S": 90, "PT1H": 3600, "PT2.5S": 2} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "PT", "20", "P1D", "PT-5S", "PT99999999999S"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) accepted", s)
		}
	}
	if FormatDuration(613) != "PT613S" {
		t.Error(FormatDuration(613))
	}
	tm := time.Date(2026, 11, 23, 2, 25, 55, 961e6, time.FixedZone("x", 3600))
	if s := FormatDate(tm); s != "2026-11-23T01:25:55.961Z" {
		t.Errorf("FormatDate = %s", s)
	}
	for _, s := range []string{"2026-11-23T02:25:55.961Z", "2026-11-23T02:25:55Z", "2026-11-23T02:25:55+01:00", "2026-11-23"} {
		if !iso8601.MatchString(s) {
			t.Errorf("%s is ISO 8601", s)
		}
		if _, err := ParseDate(s); err != nil {
			t.Errorf("ParseDate(%s): %v", s, err)
		}
	}
	for _, s := range []string{"yesterday", "2026-13-01", "23/11/2026", "2026-11-23T25:00:00Z", ""} {
		if iso8601.MatchString(s) {
			t.Errorf("%q is not ISO 8601", s)
		}
	}
}

func TestMagnetInfoHash(t *testing.T) {
	for magnet, want := range map[string]string{
		"magnet:?xt=urn:btih:CAB7A3977C4D43F7167A5132EBE498A21253172D&dn=x": "cab7a3977c4d43f7167a5132ebe498a21253172d",
		"magnet:?xt=urn:btih:ZK32HF34JVB7OFT2KEZOXZEYUIJFGFZN":              "cab7a3977c4d43f7167a5132ebe498a21253172d",
	} {
		if got, err := MagnetInfoHash(magnet); err != nil || got != want {
			t.Errorf("%s → %s %v", magnet, got, err)
		}
	}
	for _, bad := range []string{"http://x/", "magnet:?dn=x", "magnet:?xt=urn:btih:123", "magnet:?xt=urn:btih:" + strings.Repeat("g", 40)} {
		if _, err := MagnetInfoHash(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
