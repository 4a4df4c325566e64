package federation

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseActivity feeds the inbox's parsers whatever arrives: the shape
// parser, the full PeerTube validation (which also runs the Video, Actor and
// CacheFile rules on embedded objects) and go-ap's envelope decoder. None
// may panic, and what validates must survive a marshal round trip.
//
//	go test -tags '…' -run '^$' -fuzz FuzzParseActivity -fuzztime 60s ./federation/
func FuzzParseActivity(f *testing.F) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "peertube")
	seeds, _ := filepath.Glob(filepath.Join(dir, "captured-6.3", "ap-*.json"))
	inbound, _ := filepath.Glob(filepath.Join(dir, "captured-6.3", "federation", "inbound", "*.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "packages", "tests", "fixtures", "ap-json", "*", "*.json"))
	seeds = append(append(seeds, more...), filepath.Join(dir, "video-object.synthetic.json"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, p := range inbound {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var rec struct {
			Body    json.RawMessage `json:"body"`
			Request struct {
				Body json.RawMessage `json:"body"`
			} `json:"request"`
		}
		if json.Unmarshal(b, &rec) != nil {
			continue
		}
		for _, body := range []json.RawMessage{rec.Body, rec.Request.Body} {
			if len(body) > 0 && string(body) != "null" {
				f.Add([]byte(body))
			}
		}
	}
	f.Add([]byte(`{"type":"Undo","id":"http://a.example/1","actor":"http://a.example/u","object":{"type":"Undo","id":"http://a.example/2","actor":"http://a.example/u","object":{"type":"Follow"}}}`))
	f.Add([]byte(`{"type":"Create","id":"http://a.example/1","actor":{"id":"http://a.example/u"},"object":{"type":"Video","url":[null],"icon":{"type":"Image"}}}`))

	opts := []ValidateOptions{{}, {AllowLocalhost: true, Strict: true}, {AllowLocalhost: true, Lenient: true, Origin: "http://127.0.0.1:9000/outbox"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, perr := ParseActivity(raw)
		_, _ = ParseEnvelope(raw)
		for _, opt := range opts {
			v, err := ParseAndValidateActivity(raw, opt)
			if err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) && perr == nil {
					t.Fatalf("validation error of an unexpected kind: %v", err)
				}
				continue
			}
			if perr != nil {
				t.Fatalf("validated, but the shape parser refused it: %v", perr)
			}
			// What passed once passes again after Fourmi re-emits it.
			if err := ValidateActivity(v, opt); err != nil {
				t.Fatalf("re-emitted activity no longer valid: %v\n%s", err, raw)
			}
		}
		if a != nil {
			_ = ValidateActivity(a, opts[1])
			if a.Object.Embedded() {
				_, _ = ParseVideo(a.Object.Raw, opts[1])
				_, _ = ParseActor(a.Object.Raw, opts[0])
			}
		}
		_, _ = ParseVideo(raw, opts[0])
		_, _ = ParseActor(raw, opts[1])
	})
}
