package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/peertube"
)

func TestDiscoveryAndActors(t *testing.T) {
	a := newInstance(t, "alice")
	ctx := context.Background()
	c := a.client(RoleInstance)
	host := strings.TrimPrefix(a.base, "http://")

	// WebFinger resolves the three actors; unknown names and hosts are 404.
	for _, tc := range []struct {
		handle, want string
		typ          federation.Type
	}{
		{"alice@" + host, a.base + "/accounts/alice", federation.TypePerson},
		{"alice_channel@" + host, a.base + "/video-channels/alice_channel", federation.TypeGroup},
		{"peertube@" + host, a.base + "/accounts/peertube", federation.TypeApplication},
	} {
		iri, err := c.WebFinger(ctx, tc.handle)
		if err != nil || iri != tc.want {
			t.Fatalf("webfinger %s: %q %v", tc.handle, iri, err)
		}
		// The actor, fetched signed and validated like PeerTube does.
		actor, err := c.GetActor(ctx, iri)
		if err != nil {
			t.Fatalf("actor %s: %v", iri, err)
		}
		if actor.Type != tc.typ || actor.Inbox != iri+"/inbox" || actor.SharedInbox() != a.base+"/inbox" || actor.PublicKey.ID != iri+"#main-key" {
			t.Fatalf("actor %s: %+v", iri, actor)
		}
		if err := federation.ValidateActor(actor, strictOpts()); err != nil {
			t.Fatalf("emitted actor %s fails PeerTube's rules: %v", iri, err)
		}
		if tc.typ == federation.TypeGroup {
			if owner, ok := actor.Owner(); !ok || owner.ID != a.base+"/accounts/alice" {
				t.Fatalf("channel owner: %+v", actor.AttributedTo)
			}
		}
	}
	for _, res := range []string{"acct:bob@" + host, "acct:alice@other.example", "nonsense"} {
		resp, _ := get(t, a.base+"/.well-known/webfinger?resource="+res, "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("webfinger %s: %d, want 404", res, resp.StatusCode)
		}
	}
	if resp, _ := get(t, a.base+"/accounts/nobody", federation.MediaTypeActivityJSON); resp.StatusCode != 404 {
		t.Errorf("unknown account: %d", resp.StatusCode)
	}

	// NodeInfo: the Application link PeerTube follows a host by.
	inst, err := c.InstanceActor(ctx, host)
	if err != nil || inst != a.base+"/accounts/peertube" {
		t.Fatalf("instance actor: %q %v", inst, err)
	}
	_, b := get(t, a.base+"/nodeinfo/2.0.json", "")
	ni, err := federation.ParseNodeInfo(b)
	if err != nil || ni.Software.Name != "fourmi" || ni.Protocols[0] != "activitypub" {
		t.Fatalf("nodeinfo: %+v %v", ni, err)
	}
	resp, b := get(t, a.base+"/.well-known/host-meta", "")
	hm, err := federation.ParseHostMeta(b)
	if err != nil || !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
		t.Fatalf("host-meta: %v", err)
	}
	if tpl, ok := hm.WebFingerTemplate(); !ok || tpl != a.base+"/.well-known/webfinger?resource={uri}" {
		t.Fatalf("host-meta template %q", tpl)
	}
}

func TestContentNegotiationAndWatchPage(t *testing.T) {
	a := newInstance(t, "alice")
	v := a.addVideo("Negotiated video", time.Now().Add(-time.Hour))
	iri := a.base + "/videos/watch/" + v.UUID
	for _, tc := range []struct{ accept, ct string }{
		{federation.MediaTypeActivityJSON, federation.MediaTypeActivityJSON},
		{federation.MediaTypeLDJSON, "application/ld+json"},
		{federation.AcceptActivityPub, federation.MediaTypeActivityJSON},
	} {
		resp, b := get(t, iri, tc.accept)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ct) {
			t.Fatalf("Accept %q: %d %q", tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		video, err := federation.ParseVideo(b, federation.ValidateOptions{AllowLocalhost: true, Strict: true, Exact: true, Origin: iri})
		if err != nil {
			t.Fatalf("served Video fails PeerTube's rules: %v", err)
		}
		if video.UUID != v.UUID || video.Duration != "PT5S" || !video.IsPublic() || len(video.Files()) != 1 {
			t.Fatalf("video: %+v", video)
		}
		f := video.Files()[0]
		if f.URL != a.base+"/static/web-videos/"+v.UUID+"-360.mp4" || f.InfoHash != v.Files[0].InfoHash || f.TorrentURL == "" || f.Size != v.Files[0].Size {
			t.Fatalf("file: %+v", f)
		}
	}
	for _, accept := range []string{"text/html,application/xhtml+xml", ""} {
		resp, b := get(t, iri, accept)
		page := string(b)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("browser: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, want := range []string{`<video`, `src="` + a.base + `/static/web-videos/` + v.UUID + `-360.mp4"`, `href="magnet:?xs=`, `href="fourmi://open?uri=`, "Negotiated video"} {
			if !strings.Contains(page, want) {
				t.Fatalf("watch page lacks %q:\n%s", want, page)
			}
		}
	}
	if resp, _ := get(t, a.base+"/videos/watch/"+newUUID(), federation.MediaTypeActivityJSON); resp.StatusCode != 404 {
		t.Fatalf("unknown video: %d", resp.StatusCode)
	}
	// A private video is not served.
	v.Privacy = PrivacyPrivate
	if _, err := a.store.PutLocalVideo(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, iri, federation.MediaTypeActivityJSON); resp.StatusCode != 404 {
		t.Fatalf("private video: %d", resp.StatusCode)
	}
}

func TestOutboxesPageAndValidate(t *testing.T) {
	a := newInstance(t, "alice")
	ctx := context.Background()
	base := time.Now().Add(-48 * time.Hour)
	for i := range 12 {
		a.addVideo("Video number "+string(rune('A'+i)), base.Add(time.Duration(i)*time.Hour))
	}
	c := a.client(RoleInstance)
	for _, tc := range []struct {
		actor string
		typ   federation.Type
	}{
		{"/accounts/alice", federation.TypeCreate},
		{"/video-channels/alice_channel", federation.TypeAnnounce},
		{"/accounts/peertube", federation.TypeAnnounce},
	} {
		outbox := a.base + tc.actor + "/outbox"
		_, b := get(t, outbox, federation.MediaTypeActivityJSON)
		var col federation.OrderedCollection
		if err := json.Unmarshal(b, &col); err != nil || col.TotalItems != 12 || col.First.IRI != outbox+"?page=1" {
			t.Fatalf("%s: %+v %v", outbox, col, err)
		}
		n := 0
		for it, err := range c.GetCollection(ctx, outbox) {
			if err != nil {
				t.Fatalf("%s: %v", outbox, err)
			}
			var act federation.Activity
			if err := it.Decode(&act); err != nil {
				t.Fatal(err)
			}
			if act.Type != tc.typ || act.ActorIRI() != a.base+tc.actor {
				t.Fatalf("%s item: %s by %s", outbox, act.Type, act.ActorIRI())
			}
			opt := strictOpts()
			opt.Origin = outbox
			if err := federation.ValidateActivity(&act, opt); err != nil {
				t.Fatalf("%s item fails PeerTube's rules: %v", outbox, err)
			}
			n++
		}
		if n != 12 {
			t.Fatalf("%s: %d items over the pages, want 12", outbox, n)
		}
	}
	_, b := get(t, a.base+"/accounts/alice/outbox?page=2", federation.MediaTypeActivityJSON)
	var p federation.OrderedCollectionPage
	if err := json.Unmarshal(b, &p); err != nil || len(p.OrderedItems) != 2 || p.Next != "" || p.PartOf != a.base+"/accounts/alice/outbox" {
		t.Fatalf("page 2: %+v %v", p, err)
	}
	if resp, _ := get(t, a.base+"/accounts/alice/outbox?page=x", ""); resp.StatusCode != 400 {
		t.Fatalf("bad page: %d", resp.StatusCode)
	}
	for _, p := range []string{"/accounts/alice/followers", "/accounts/alice/following", "/video-channels/alice_channel/followers"} {
		_, b := get(t, a.base+p, federation.MediaTypeActivityJSON)
		var col federation.OrderedCollection
		if err := json.Unmarshal(b, &col); err != nil || col.Type != federation.TypeOrderedCollection || col.TotalItems != 0 {
			t.Fatalf("%s: %s", p, b)
		}
	}
}

func TestStaticFilesWithRange(t *testing.T) {
	a := newInstance(t, "alice")
	v := a.addVideo("Ranged", time.Now())
	want, _ := os.ReadFile(v.Files[0].Path)
	req, _ := http.NewRequest(http.MethodGet, a.base+"/static/web-videos/"+v.UUID+"-360.mp4", nil)
	req.Header.Set("Range", "bytes=1000-1999")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got.Bytes(), want[1000:2000]) || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("range: %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), got.Len())
	}
	if resp, b := get(t, a.base+"/static/web-videos/"+v.UUID+"-360.mp4", ""); resp.StatusCode != 200 || !bytes.Equal(b, want) {
		t.Fatalf("whole file: %d", resp.StatusCode)
	}
	if resp, b := get(t, a.base+"/lazy-static/torrents/"+v.UUID+"-360.torrent", ""); resp.StatusCode != 200 || string(b) != "d8:announce0:e" || resp.Header.Get("Content-Type") != "application/x-bittorrent" {
		t.Fatalf("torrent: %d", resp.StatusCode)
	}
	if resp, b := get(t, a.base+"/lazy-static/thumbnails/"+v.UUID+".jpg", ""); resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte{0xff, 0xd8}) {
		t.Fatalf("thumbnail: %d", resp.StatusCode)
	}
	for _, p := range []string{"/static/web-videos/" + v.UUID + "-720.mp4", "/static/web-videos/../../etc/passwd", "/static/web-videos/x.mp4", "/lazy-static/previews/" + v.UUID + ".jpg"} {
		if resp, _ := get(t, a.base+p, ""); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestRESTSubsetReadByPeerTubeClient(t *testing.T) {
	a := newInstance(t, "alice")
	ctx := context.Background()
	now := time.Now().Add(-time.Hour)
	v1 := a.addVideo("Mountain walk", now)
	v2 := a.addVideo("City lights", now.Add(time.Minute))
	pc, err := peertube.New(a.base, peertube.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pc.Config(ctx)
	if err != nil || cfg.ServerVersion == "" || cfg.Instance.Name != "Fourmi alice" {
		t.Fatalf("config: %+v %v", cfg, err)
	}
	page, err := pc.Videos(ctx, peertube.ListOptions{Count: 10, Sort: peertube.SortRecent})
	if err != nil || page.Total != 2 || len(page.Data) != 2 || page.Data[0].UUID != v2.UUID {
		t.Fatalf("videos: %+v %v", page, err)
	}
	got := page.Data[1]
	if got.Name != "Mountain walk" || got.Duration != 5 || got.Channel.Name != "alice_channel" || got.Channel.Host != strings.TrimPrefix(a.base, "http://") ||
		got.Account.Name != "alice" || got.Category.Label != "Science & Technology" || got.Language.ID != "en" || !got.PublishedAt.Equal(v1.Published.Truncate(time.Millisecond)) || got.ShortUUID == "" {
		t.Fatalf("video entry: %+v", got)
	}
	page, err = pc.Search(ctx, "mountain", peertube.ListOptions{})
	if err != nil || page.Total != 1 || page.Data[0].UUID != v1.UUID {
		t.Fatalf("search: %+v %v", page, err)
	}
	page, err = pc.ChannelVideos(ctx, "alice_channel", peertube.ListOptions{Count: 1})
	if err != nil || page.Total != 2 || len(page.Data) != 1 {
		t.Fatalf("channel videos: %+v %v", page, err)
	}
	if _, err := pc.ChannelVideos(ctx, "nobody", peertube.ListOptions{}); !peertube.NotFound(err) {
		t.Fatalf("unknown channel: %v", err)
	}
	for _, id := range []string{v1.UUID, got.ShortUUID} {
		d, err := pc.Video(ctx, id)
		if err != nil || d.UUID != v1.UUID || len(d.AllFiles()) != 1 || len(d.Tags) != 2 {
			t.Fatalf("video %s: %+v %v", id, d, err)
		}
		f := d.AllFiles()[0]
		if f.FileURL != a.base+"/static/web-videos/"+v1.UUID+"-360.mp4" || f.Resolution.ID != 360 || f.Size != v1.Files[0].Size || !strings.Contains(f.MagnetURI, v1.Files[0].InfoHash) {
			t.Fatalf("file: %+v", f)
		}
	}
	if _, err := pc.Video(ctx, newUUID()); !peertube.NotFound(err) {
		t.Fatalf("unknown video: %v", err)
	}
	if ch, err := pc.Channel(ctx, "alice_channel"); err != nil || ch.Description != "Videos made by alice" || ch.OwnerAccount == nil {
		t.Fatalf("channel: %+v %v", ch, err)
	}
	if resp, _ := get(t, a.base+"/api/v1/videos?count=101", ""); resp.StatusCode != 400 {
		t.Fatalf("count 101: %d", resp.StatusCode)
	}
}

// TestRESTShapesMatchCaptured checks the REST answers carry the keys of
// PeerTube 6.3's (captured-6.3/api-*.json).
func TestRESTShapesMatchCaptured(t *testing.T) {
	a := newInstance(t, "alice")
	v := a.addVideo("Shape check", time.Now())
	keys := func(b []byte, path ...string) map[string]bool {
		var m any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, p := range path {
			switch x := m.(type) {
			case map[string]any:
				m = x[p]
			case []any:
				m = x[0]
				if mm, ok := m.(map[string]any); ok {
					m = mm[p]
				}
			}
		}
		if arr, ok := m.([]any); ok {
			m = arr[0]
		}
		out := map[string]bool{}
		for k := range m.(map[string]any) {
			out[k] = true
		}
		return out
	}
	fix := func(name string) []byte {
		b, err := os.ReadFile("../../../shared/fixtures/peertube/captured-6.3/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	_, list := get(t, a.base+"/api/v1/videos", "")
	_, det := get(t, a.base+"/api/v1/videos/"+v.UUID, "")
	for _, tc := range []struct {
		name      string
		want, got map[string]bool
	}{
		{"list item", keys(fix("api-videos.json"), "data"), keys(list, "data")},
		{"details", keys(fix("api-video.json")), keys(det)},
		{"file", keys(fix("api-video.json"), "files"), keys(det, "files")},
	} {
		for k := range tc.want {
			switch k {
			case "metadataUrl", "inputFileUpdatedAt", "userHistory", "viewers", "aspectRatio", "pluginData":
				continue // not served by Fourmi (no per-file metadata, no history)
			}
			if !tc.got[k] {
				t.Errorf("%s: missing key %q", tc.name, k)
			}
		}
	}
}

func TestEmittedVideoObjectsPassPeerTubeRules(t *testing.T) {
	a := newInstance(t, "alice")
	v := a.addVideo("Strict video", time.Now())
	st := a.site()
	obj := st.videoObject(v)
	if err := federation.ValidateVideo(obj, strictOpts()); err != nil {
		t.Fatalf("video: %v", err)
	}
	// Edge cases: no description, a preview, several files, no tracker.
	v.Description = ""
	v.Preview = ImageFile{Path: v.Thumbnail.Path, Width: 850, Height: 480}
	v.Files = append(v.Files, VideoFile{Resolution: 720, Width: 1280, Height: 720, FPS: 30, Size: 9, Path: v.Files[0].Path, InfoHash: strings.Repeat("ab", 20)})
	obj = st.videoObject(v)
	if obj.Content != "" {
		t.Fatal("empty content must be omitted")
	}
	if err := federation.ValidateVideo(obj, strictOpts()); err != nil {
		t.Fatalf("variant: %v", err)
	}
	unlisted := v
	unlisted.Privacy = PrivacyUnlisted
	uobj := st.videoObject(unlisted)
	if err := federation.ValidateVideo(uobj, strictOpts()); err != nil || uobj.IsPublic() {
		t.Fatalf("unlisted video: public %v, %v", uobj.IsPublic(), err)
	}
	create, err := st.createActivity(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range []*federation.Activity{create, st.announceActivity(v, RoleInstance), st.announceActivity(v, RoleChannel)} {
		raw, _ := json.Marshal(act)
		if _, err := federation.ParseAndValidateActivity(raw, strictOpts()); err != nil {
			t.Fatalf("%s: %v", act.Type, err)
		}
	}
}
