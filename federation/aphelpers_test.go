package federation

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// Helpers shared by the ActivityPub tests. Fixtures are real PeerTube 6.3
// output captured at http://127.0.0.1:9000 (../shared/fixtures/peertube).

func captured(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures(t, append([]string{"captured-6.3"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apFixtures lists the captured ap-*.json files.
func apFixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(fixtures(t, "captured-6.3", "ap-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured ap-*.json: %v", err)
	}
	sort.Strings(files)
	return files
}

// inboundActivities returns the bodies PeerTube POSTed to a third-party
// inbox and the activities that server sent PeerTube, by file name.
func inboundActivities(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(fixtures(t, "captured-6.3", "federation", "inbound", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Body    json.RawMessage `json:"body"`
			Request struct {
				Body json.RawMessage `json:"body"`
			} `json:"request"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		body := rec.Body
		if len(body) == 0 || string(body) == "null" {
			body = rec.Request.Body
		}
		if len(body) > 0 && string(body) != "null" {
			out[filepath.Base(f)] = body
		}
	}
	if len(out) < 8 {
		t.Fatalf("expected the captured Accept/Announce/Update/Follow/Undo bodies, found %d", len(out))
	}
	return out
}

func toMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutate decodes b, applies f and re-encodes.
func mutate(t *testing.T, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	m := toMap(t, b)
	f(m)
	return mustJSON(t, m)
}

// wantField asserts err is a *ValidationError on field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError on %q, got %v", field, err)
	}
	if ve.Field != field {
		t.Fatalf("want a failure on %q, got %v", field, err)
	}
}

// sameJSON compares the given properties of two JSON objects.
func sameJSON(t *testing.T, what string, want, got map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if !reflect.DeepEqual(want[k], got[k]) {
			w, _ := json.Marshal(want[k])
			g, _ := json.Marshal(got[k])
			t.Errorf("%s: %q differs\nwant %s\ngot  %s", what, k, w, g)
		}
	}
}

// rewriteHosts points captured JSON at another host (a test server).
func rewriteHosts(b []byte, host string) []byte {
	s := strings.ReplaceAll(string(b), "127.0.0.1:9000", host)
	s = strings.ReplaceAll(s, "127.0.0.1%3A9000", strings.ReplaceAll(host, ":", "%3A"))
	return []byte(s)
}
