package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// follow, feed, export/import and unfollow against the captured PeerTube
// channel, through the CLI.
func TestFollowFeedCLI(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	st := s.ServeChannel("root_channel")
	dir := t.TempDir()
	handle := "root_channel@" + s.Host()

	out, errOut, code := runCLI(t, "--data", dir, "follow", handle)
	if code != 0 || !strings.Contains(out, "following "+handle+" (Main root channel)") {
		t.Fatalf("follow: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "--data", dir, "feed", "--json")
	if code != 0 {
		t.Fatalf("feed: exit %d: %s", code, errOut)
	}
	var items []feedVideo
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("feed --json: %v\n%s", err, out)
	}
	if len(items) != 1 || items[0].UUID != peertubetest.CapturedUUID || items[0].Channel != handle ||
		items[0].URL != s.URL+"/videos/watch/"+peertubetest.CapturedUUID || items[0].Duration != 10 {
		t.Fatalf("feed items: %+v", items)
	}

	// A new video: first in the table, marked unseen.
	d := peertubetest.SyntheticVideo(s.URL, 1)
	d.Name = "Ants at dawn"
	d.PublishedAt = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	d.Channel = peertube.Actor{ID: 1, Name: "root_channel", DisplayName: "Main root channel",
		URL: s.URL + "/video-channels/root_channel", Host: s.Host()}
	s.AddVideo(d)
	out, errOut, code = runCLI(t, "--data", dir, "feed", "--count", "5")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "DATE") ||
		!strings.Contains(lines[1], "• Ants at dawn") || !strings.Contains(lines[1], "2026-11-24") ||
		!strings.Contains(lines[2], "Interop test video") || !strings.Contains(lines[2], handle) {
		t.Fatalf("feed table: exit %d\n%s\n%s", code, out, errOut)
	}
	if st.Requests.Load() != 2 {
		t.Fatalf("channel list requests: %d", st.Requests.Load())
	}

	out, _, code = runCLI(t, "--data", dir, "follow")
	if code != 0 || !strings.Contains(out, handle) || !strings.Contains(out, " ok ") {
		t.Fatalf("follow (list): exit %d\n%s", code, out)
	}

	// Export, import elsewhere.
	opml := filepath.Join(t.TempDir(), "subs.opml")
	if _, errOut, code := runCLI(t, "--data", dir, "follow", "--export", opml); code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	if b, _ := os.ReadFile(opml); !strings.Contains(string(b), "<opml") {
		t.Fatalf("exported: %s", b)
	}
	dir2 := t.TempDir()
	out, errOut, code = runCLI(t, "--data", dir2, "follow", "--import", opml)
	if code != 0 || !strings.Contains(out, "following "+handle) {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}

	out, errOut, code = runCLI(t, "--data", dir, "unfollow", s.URL+"/c/root_channel")
	if code != 0 || !strings.Contains(out, "no longer following "+handle) {
		t.Fatalf("unfollow: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "--data", dir, "feed", "--no-refresh")
	if code != 0 || out != "" || !strings.Contains(errOut, "feed is empty") {
		t.Fatalf("feed after unfollow: exit %d %q %q", code, out, errOut)
	}
}

func TestFollowCLIErrors(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	s.ServeChannel("root_channel")
	dir := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.opml")
	os.WriteFile(bad, []byte("<opml><body><outline"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"follow", "nobody@" + s.Host()}, 1, "no such channel or account"},
		{[]string{"follow", "a@b", "c@d"}, 2, "give one"},
		{[]string{"follow", "--import", bad}, 1, "not a readable OPML file"},
		{[]string{"follow", "--export", filepath.Join(dir, "x.csv")}, 2, ".opml"},
		{[]string{"unfollow", "root_channel@" + s.Host()}, 1, "you do not follow"},
		{[]string{"unfollow"}, 2, "HANDLE|URL"},
		{[]string{"feed", "--count", "0"}, 2, "--count"},
	} {
		_, errOut, code := runCLI(t, append([]string{"--data", dir}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, errOut)
		}
	}
	if out, _, _ := runCLI(t, "--data", dir, "follow"); strings.Contains(out, "@") {
		t.Fatalf("errors stored subscriptions:\n%s", out)
	}
}
