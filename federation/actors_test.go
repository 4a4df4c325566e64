package federation

import (
	"strings"
	"testing"
)

func TestCapturedActorsPass(t *testing.T) {
	cases := map[string]struct {
		typ    Type
		handle string
	}{
		"ap-instance-actor.json": {TypeApplication, "peertube@127.0.0.1:9000"},
		"ap-account-root.json":   {TypePerson, "root@127.0.0.1:9000"},
		"ap-channel.json":        {TypeGroup, "root_channel@127.0.0.1:9000"},
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			raw := captured(t, file)
			a, err := ParseActor(raw, ValidateOptions{AllowLocalhost: true, Strict: true, Origin: "http://127.0.0.1:9000/"})
			if err != nil {
				t.Fatal(err)
			}
			if a.Type != want.typ || a.Handle() != want.handle {
				t.Errorf("type %s handle %s", a.Type, a.Handle())
			}
			if _, err := a.Key(); err != nil {
				t.Errorf("key: %v", err)
			}
			if a.SharedInbox() != "http://127.0.0.1:9000/inbox" || a.PublicKey.ID != a.ID+"#main-key" {
				t.Errorf("shared inbox %s key %s", a.SharedInbox(), a.PublicKey.ID)
			}
			if a.Type == TypeGroup {
				if o, ok := a.Owner(); !ok || o.ID != "http://127.0.0.1:9000/accounts/root" {
					t.Errorf("channel owner %+v", o)
				}
			}
			// Round trip: every property PeerTube wrote comes back the same.
			orig, got := toMap(t, raw), toMap(t, mustJSON(t, a))
			var keys []string
			for k := range orig {
				if k != "summary" && k != "support" { // null in the capture: omitted
					keys = append(keys, k)
				}
			}
			sameJSON(t, file, orig, got, keys...)
		})
	}
}

func TestActorMutations(t *testing.T) {
	group := captured(t, "ap-channel.json")
	person := captured(t, "ap-account-root.json")
	opt := ValidateOptions{AllowLocalhost: true, Strict: true}
	set := func(k string, v any) func(m map[string]any) { return func(m map[string]any) { m[k] = v } }
	cases := []struct {
		name  string
		base  []byte
		f     func(m map[string]any)
		opt   ValidateOptions
		field string
	}{
		{"type Note", person, set("type", "Note"), opt, "type"},
		{"preferredUsername with a space", person, set("preferredUsername", "root user"), opt, "preferredUsername"},
		{"preferredUsername number", person, set("preferredUsername", 5.0), opt, "preferredUsername"},
		{"inbox missing", person, func(m map[string]any) { delete(m, "inbox") }, opt, "inbox"},
		{"outbox not a URL", person, set("outbox", "outbox"), opt, "outbox"},
		{"no public key", person, func(m map[string]any) { delete(m, "publicKey") }, opt, "publicKey"},
		{"PKCS#1 key", person, func(m map[string]any) {
			pk := m["publicKey"].(map[string]any)
			pk["publicKeyPem"] = strings.ReplaceAll(pk["publicKeyPem"].(string), "PUBLIC KEY", "RSA PUBLIC KEY")
		}, opt, "publicKey"},
		{"key of someone else, strict", person, func(m map[string]any) {
			m["publicKey"].(map[string]any)["owner"] = "http://127.0.0.1:9000/accounts/other"
		}, opt, "publicKey"},
		{"sharedInbox not a URL", person, set("endpoints", map[string]any{"sharedInbox": "inbox"}), opt, "endpoints"},
		{"group without attributedTo", group, func(m map[string]any) { delete(m, "attributedTo") }, opt, "attributedTo"},
		{"group attributed by bare URL: 6.3 finds no Person", group, set("attributedTo", []any{"http://127.0.0.1:9000/accounts/root"}), opt, "attributedTo"},
		{"group attributed by bare URL, not strict", group, set("attributedTo", []any{"http://127.0.0.1:9000/accounts/root"}), ValidateOptions{AllowLocalhost: true}, ""},
		{"group owner on another host", group, set("attributedTo", []any{map[string]any{"type": "Person", "id": "https://other.example/accounts/x"}}), opt, "attributedTo"},
		{"fetched from another host", person, nil, ValidateOptions{AllowLocalhost: true, Origin: "http://127.0.0.1:9001/accounts/root"}, "id"},
		{"url as array (normalized)", person, set("url", []any{"http://127.0.0.1:9000/accounts/root"}), opt, ""},
		{"url as Link (normalized)", person, set("url", map[string]any{"type": "Link", "href": "http://127.0.0.1:9000/accounts/root"}), opt, ""},
		{"url absent (the id is used)", person, func(m map[string]any) { delete(m, "url") }, opt, ""},
		{"published bad (dropped)", person, set("published", "never"), opt, ""},
		{"published number", person, set("published", 5.0), opt, "published"},
		{"Service actor", person, set("type", "Service"), opt, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.base
			if tc.f != nil {
				raw = mutate(t, tc.base, tc.f)
			}
			a, err := ParseActor(raw, tc.opt)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("PeerTube accepts this: %v", err)
				}
				if a.URL != a.ID {
					t.Errorf("url normalized to %q", a.URL)
				}
				return
			}
			wantField(t, err, tc.field)
		})
	}
	// Summary: truncated to 1000, and dropped under 3 characters.
	a, err := ParseActor(mutate(t, person, set("summary", strings.Repeat("s", 1200))), opt)
	if err != nil || jsLength(a.Summary) != 1000 {
		t.Errorf("long summary: %d %v", jsLength(a.Summary), err)
	}
	a, err = ParseActor(mutate(t, person, set("summary", "hi")), opt)
	if err != nil || a.Summary != "" {
		t.Errorf("short summary kept: %q %v", a.Summary, err)
	}
}

func TestNewActorValidates(t *testing.T) {
	var pk struct {
		PublicKey string `json:"publicKey"`
	}
	readJSON(t, fixtures(t, "packages", "tests", "fixtures", "ap-json", "peertube", "keys.json"), &pk)
	person, err := NewActor(TypePerson, "https://fourmi.example/accounts/alice", "alice", "Alice", pk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateActor(person, ValidateOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	group, _ := NewActor(TypeGroup, "https://fourmi.example/video-channels/alice_channel", "alice_channel", "Alice's videos", pk.PublicKey)
	wantField(t, ValidateActor(group, ValidateOptions{Strict: true}), "attributedTo")
	group.AttributedTo = ActorRefs{{Type: TypePerson, ID: person.ID}}
	if err := ValidateActor(group, ValidateOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	m := toMap(t, mustJSON(t, group))
	if m["inbox"] != "https://fourmi.example/video-channels/alice_channel/inbox" ||
		m["endpoints"].(map[string]any)["sharedInbox"] != "https://fourmi.example/inbox" ||
		m["publicKey"].(map[string]any)["id"] != "https://fourmi.example/video-channels/alice_channel#main-key" {
		t.Errorf("PeerTube URL layout: %v", m)
	}
	if _, err := NewActor(TypePerson, "/accounts/x", "x", "", pk.PublicKey); err == nil {
		t.Error("relative id accepted")
	}
}
