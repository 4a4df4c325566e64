package federation

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestWebFingerCaptured(t *testing.T) {
	cases := map[string]struct{ user, actor string }{
		"webfinger-instance-actor.json": {"peertube", "http://127.0.0.1:9000/accounts/peertube"},
		"webfinger-root-account.json":   {"root", "http://127.0.0.1:9000/accounts/root"},
		"webfinger-root-channel.json":   {"root_channel", "http://127.0.0.1:9000/video-channels/root_channel"},
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			raw := captured(t, file)
			j, err := ParseJRD(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := j.ActorIRI(); err != nil || got != want.actor {
				t.Errorf("actor %q %v", got, err)
			}
			// Fourmi's builder writes what PeerTube wrote.
			built, err := NewJRD(want.user, want.actor)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(toMap(t, mustJSON(t, built)), toMap(t, raw)) {
				t.Errorf("built JRD differs:\n%s\n%s", mustJSON(t, built), raw)
			}
		})
	}
	// An ld+json self link with the profile counts; a text/html one does not.
	j := &JRD{Subject: "acct:a@b.example", Links: []JRDLink{
		{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: "https://b.example/@a"},
		{Rel: RelSelf, Type: "text/html", Href: "https://b.example/@a"},
		{Rel: RelSelf, Type: MediaTypeLDJSON, Href: "https://b.example/users/a"},
	}}
	if got, err := j.ActorIRI(); err != nil || got != "https://b.example/users/a" {
		t.Errorf("ld+json self link: %q %v", got, err)
	}
	j.Links = j.Links[:2]
	if _, err := j.ActorIRI(); err == nil {
		t.Error("a JRD without an ActivityPub self link resolved")
	}
	j.Links = []JRDLink{{Rel: RelSelf, Type: MediaTypeActivityJSON, Href: "javascript:alert(1)"}}
	if _, err := j.ActorIRI(); err == nil {
		t.Error("a non-http self link resolved")
	}
	for _, bad := range []string{"", "[]", "null", `{"subject":5}`} {
		if _, err := ParseJRD([]byte(bad)); err == nil {
			t.Errorf("JRD %q accepted", bad)
		}
	}
}

func TestParseHandle(t *testing.T) {
	for in, want := range map[string][2]string{
		"acct:root_channel@127.0.0.1:9000": {"root_channel", "127.0.0.1:9000"},
		"root_channel@video.example":       {"root_channel", "video.example"},
		"@alice@Video.Example":             {"alice", "video.example"},
		" bob@example.org ":                {"bob", "example.org"},
	} {
		u, h, err := ParseHandle(in)
		if err != nil || u != want[0] || h != want[1] {
			t.Errorf("ParseHandle(%q) = %q %q %v", in, u, h, err)
		}
	}
	for _, bad := range []string{"", "alice", "@alice", "alice@", "a@b@c", "a/b@host", "alice@host/path", "alice@ho st", "alice@:80"} {
		if _, _, err := ParseHandle(bad); err == nil {
			t.Errorf("ParseHandle(%q) accepted", bad)
		}
	}
	if got := WebFingerURL("https", "root", "video.example"); got != "https://video.example/.well-known/webfinger?resource=acct%3Aroot%40video.example" {
		t.Error(got)
	}
}

func TestNodeInfoCaptured(t *testing.T) {
	raw := captured(t, "nodeinfo-wellknown.json")
	links, err := ParseNodeInfoLinks(raw)
	if err != nil {
		t.Fatal(err)
	}
	if href, ok := links.Find(RelInstanceActor); !ok || href != "http://127.0.0.1:9000/accounts/peertube" {
		t.Errorf("instance actor link %q", href)
	}
	built := NewNodeInfoLinks("http://127.0.0.1:9000/", "http://127.0.0.1:9000/accounts/peertube")
	if !reflect.DeepEqual(toMap(t, mustJSON(t, built)), toMap(t, raw)) {
		t.Errorf("built links %s", mustJSON(t, built))
	}

	doc := captured(t, "nodeinfo-document.json")
	ni, err := ParseNodeInfo(doc)
	if err != nil {
		t.Fatal(err)
	}
	if ni.Software.Name != "peertube" || ni.Software.Version != "6.3.0" || ni.Usage.LocalPosts != 1 || !ni.OpenRegistrations {
		t.Errorf("nodeinfo %+v", ni)
	}
	if !reflect.DeepEqual(toMap(t, mustJSON(t, ni)), toMap(t, doc)) {
		t.Error("nodeinfo round trip changed the document")
	}
	mine := NewNodeInfo("fourmi", "0.1.0")
	mine.Usage.Users.Total = 1
	back, err := ParseNodeInfo(mustJSON(t, mine))
	if err != nil || back.Software.Name != "fourmi" || back.Protocols[0] != "activitypub" {
		t.Errorf("fourmi nodeinfo %+v %v", back, err)
	}
	if s := string(mustJSON(t, mine)); !strings.Contains(s, `"inbound":[]`) || !strings.Contains(s, `"metadata":{}`) {
		t.Errorf("NodeInfo 2.0 needs empty arrays and a metadata object: %s", s)
	}
	for _, bad := range []string{`{"version":"1.0","software":{"name":"x"}}`, `{"version":"2.0","software":{}}`, `[]`} {
		if _, err := ParseNodeInfo([]byte(bad)); err == nil {
			t.Errorf("nodeinfo %s accepted", bad)
		}
	}
}

func TestHostMetaCaptured(t *testing.T) {
	raw := captured(t, "host-meta.json") // XML, despite its name
	h, err := ParseHostMeta(raw)
	if err != nil {
		t.Fatal(err)
	}
	tpl, ok := h.WebFingerTemplate()
	if !ok || tpl != "http://127.0.0.1:9000/.well-known/webfinger?resource={uri}" {
		t.Errorf("template %q", tpl)
	}
	built, err := NewHostMeta("http://127.0.0.1:9000").XML()
	if err != nil {
		t.Fatal(err)
	}
	if string(built) != string(raw) {
		t.Errorf("XRD differs from PeerTube's:\n%s\n%s", built, raw)
	}
	// The JSON form parses back to the same links.
	js, err := json.Marshal(NewHostMeta("http://127.0.0.1:9000"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseHostMeta(js)
	if err != nil || !reflect.DeepEqual(back, h) {
		t.Errorf("JSON host-meta %s → %+v %v", js, back, err)
	}
	for _, bad := range []string{"", "<html><body/></html>", "<XRD", "{"} {
		if _, err := ParseHostMeta([]byte(bad)); err == nil {
			t.Errorf("host-meta %q accepted", bad)
		}
	}
}
