package federation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func inboundBody(b *testing.B, name string) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "peertube", "captured-6.3", "federation", "inbound", name))
	if err != nil {
		b.Fatal(err)
	}
	var rec struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		b.Fatal(err)
	}
	return rec.Body
}

// BenchmarkValidateUpdateVideo: the inbox's cost for the biggest activity
// PeerTube sends, an Update carrying the whole Video (~11 KB).
func BenchmarkValidateUpdateVideo(b *testing.B) {
	raw := inboundBody(b, "010-post-POST-Update.json")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAndValidateActivity(raw, ValidateOptions{AllowLocalhost: true, Strict: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateAnnounce: the common small activity.
func BenchmarkValidateAnnounce(b *testing.B) {
	raw := inboundBody(b, "006-post-POST-Announce.json")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAndValidateActivity(raw, ValidateOptions{AllowLocalhost: true, Strict: true}); err != nil {
			b.Fatal(err)
		}
	}
}
