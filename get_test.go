package main

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// get downloads through the web seed, verifies, prints the path; the same
// command again finds everything already there.
func TestGetFromWebSeed(t *testing.T) {
	s := peertubetest.NewSynthetic(0)
	defer s.Close()
	p := testkit.Publish(t, s, "Ants crossing a river", testkit.Video(t, testkit.SmallVideo), 8)
	dir := t.TempDir()

	out, errOut, code := runCLI(t, "--data", dir, "--loopback-only", "get", "--quiet", p.WatchURL(s))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	path := strings.TrimSpace(out)
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, p.Data) {
		t.Fatalf("downloaded file %q: %v (%d bytes, want %d identical)", path, err, len(got), len(p.Data))
	}
	if !strings.Contains(errOut, "complete and verified") || !strings.Contains(errOut, "from the web seed") {
		t.Errorf("stderr: %s", errOut)
	}
	served := s.Served(p.FilePath)
	if served < int64(len(p.Data)) {
		t.Errorf("web seed served %d bytes of %d", served, len(p.Data))
	}

	// Again, by magnet: nothing is fetched twice.
	out, errOut, code = runCLI(t, "--data", dir, "--loopback-only", "get", "--quiet", p.Magnet)
	if code != 0 || strings.TrimSpace(out) != path {
		t.Fatalf("second get: exit %d, %q, %s", code, out, errOut)
	}
	if s.Served(p.FilePath) != served {
		t.Errorf("second get fetched %d more bytes", s.Served(p.FilePath)-served)
	}
}

func TestGetSeedsForTheGivenTime(t *testing.T) {
	s := peertubetest.NewSynthetic(0)
	defer s.Close()
	p := testkit.Publish(t, s, "Leafcutter ants", testkit.Video(t, testkit.SmallVideo), 8)
	start := time.Now()
	_, errOut, code := runCLI(t, "--data", t.TempDir(), "--loopback-only", "get", "--seed-for", "1500ms", p.TorrentURL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if time.Since(start) < 1500*time.Millisecond || !strings.Contains(errOut, "seeding for 1.5s") || !strings.Contains(errOut, "seeded") {
		t.Errorf("did not seed for the given time:\n%s", errOut)
	}
}

func TestGetBadInput(t *testing.T) {
	s := peertubetest.NewSynthetic(0)
	defer s.Close()
	s.Handle("/not-a-torrent.torrent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>nope</html>"))
	})
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"get"}, 2, "want exactly one"},
		{[]string{"get", "--seed-for", "-1s", "x"}, 2, "negative"},
		{[]string{"get", "--quiet", "no such thing"}, 1, ""},
		{[]string{"get", "--quiet", s.URL + "/not-a-torrent.torrent"}, 1, ""},
		{[]string{"get", "--quiet", s.URL + "/videos/watch/00000000-0000-4000-8000-000000000000"}, 1, ""},
	} {
		args := append([]string{"--data", dir, "--loopback-only"}, tc.args...)
		out, errOut, code := runCLI(t, args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, code, out, errOut)
		}
	}
}
