package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fourmi-app/fourmi/internal/testkit"
	"github.com/fourmi-app/fourmi/library"
)

var (
	uuidV4Line = regexp.MustCompile(`(?m)^uuid\t([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$`)
	magnetLine = regexp.MustCompile(`(?m)^magnet\t(\d+p|audio)\t(magnet:\?xt=urn:btih:[0-9a-f]{40}\S*)$`)
)

// openTestLibrary opens the library a command left in dir.
func openTestLibrary(t *testing.T, dir string) *library.Library {
	t.Helper()
	lib, err := library.Open(context.Background(), library.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close() })
	return lib
}

// publish stores, encodes, hashes and seeds a small video, and prints
// its UUID (v4) and a magnet per file; the library lists it, done, with
// the metadata given; --json says the same with the files' paths.
func TestPublishCLI(t *testing.T) {
	file := testkit.Video(t, testkit.SmallVideo)
	dir := t.TempDir()
	out, errOut, code := runCLI(t, "--data", dir, "--loopback-only", "publish", "--quiet",
		"--title", "Ants at work", "--tags", "ants, nature", "--privacy", "unlisted", file, "--language", "en")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	m := uuidV4Line.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no UUID v4 line in:\n%s", out)
	}
	uuid := m[1]
	mags := magnetLine.FindAllStringSubmatch(out, -1)
	if len(mags) != 1 || mags[0][1] != "120p" || !strings.Contains(mags[0][2], "xl=") {
		t.Fatalf("magnets: %q in\n%s", mags, out)
	}
	if strings.Contains(out, "url\t") {
		t.Errorf("a watch URL without hosting:\n%s", out)
	}
	if errOut != "" {
		t.Errorf("--quiet wrote on stderr: %q", errOut)
	}

	// the same again as JSON, with the public URL set: the watch URL
	lib := openTestLibrary(t, dir)
	ctx := context.Background()
	v, err := lib.MyVideo(ctx, uuid)
	fatalIf(t, err)
	if v.State != library.PublishDone || v.Meta.Title != "Ants at work" || strings.Join(v.Meta.Tags, "|") != "ants|nature" ||
		v.Meta.Privacy != library.PrivacyUnlisted || v.Meta.Language != "en" || len(v.Files) != 1 {
		t.Errorf("stored: %+v", v)
	}
	if v.Files[0].Magnet != mags[0][2] {
		t.Errorf("printed magnet %q, stored %q", mags[0][2], v.Files[0].Magnet)
	}
	fatalIf(t, lib.SetSetting(ctx, library.SettingPublicURL, "https://videos.example.org/"))
	fatalIf(t, lib.Close())

	out, errOut, code = runCLI(t, "--data", dir, "--loopback-only", "publish", "--json", "--title", "Second take", file)
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	var res publishResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res.UUID == uuid || res.Title != "Second take" || len(res.Files) != 1 || res.Duration < 7 || res.Duration > 9 {
		t.Fatalf("result: %+v", res)
	}
	if res.URL != "https://videos.example.org/videos/watch/"+res.UUID {
		t.Errorf("watch URL %q", res.URL)
	}
	f := res.Files[0]
	if st, err := os.Stat(f.Path); err != nil || st.Size() != f.Size || f.Size == 0 {
		t.Errorf("file %s: %v (want %d bytes)", f.Path, err, f.Size)
	}
	if !strings.Contains(f.Magnet, "btih:"+f.InfoHash) || f.WebSeed == "" || !strings.Contains(f.Magnet, "ws=") {
		t.Errorf("file with hosting: %+v", f)
	}
	// stderr is not a terminal: a line per step, no carriage returns
	if !strings.Contains(errOut, "publishing \"Second take\" as "+res.UUID) || strings.Contains(errOut, "\r") ||
		!strings.Contains(errOut, "hash") {
		t.Errorf("progress on stderr:\n%s", errOut)
	}
}

// Bad metadata is refused before anything is stored, every field's
// error said at once (exit 2); a missing file, a folder, or a file that
// is no video are said clearly (exit 1), and nothing stays published.
func TestPublishCLIBadInput(t *testing.T) {
	file := testkit.Video(t, testkit.SmallVideo)
	dir := t.TempDir()
	notVideo := filepath.Join(t.TempDir(), "notes.mp4")
	fatalIf(t, os.WriteFile(notVideo, []byte("these are my notes, not a video\n"), 0o644))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"short title and bad tags", []string{"--title", "ab", "--tags", "a,b,c,d,e,f", file}, 2,
			[]string{"--title: Title must be between 3 and 120", "--tags: "}},
		{"long title", []string{"--title", strings.Repeat("x", 121), file}, 2, []string{"--title: "}},
		{"tag too short", []string{"--title", "Ants", "--tags", "ok,x", file}, 2, []string{"--tags: Each tag"}},
		{"unknown category", []string{"--title", "Ants", "--category", "999", file}, 2, []string{"--category: "}},
		{"bad channel", []string{"--title", "Ants", "--channel", "Not A Name", file}, 2, []string{"--channel: "}},
		{"bad privacy", []string{"--title", "Ants", "--privacy", "secret", file}, 2, []string{"--privacy"}},
		{"bad resolution", []string{"--title", "Ants", "--resolutions", "720,big", file}, 2, []string{"--resolutions"}},
		{"no file", []string{"--title", "Ants"}, 2, []string{"want exactly one FILE"}},
		{"missing file", []string{"--title", "Ants", "/no/such/ants.mp4"}, 1, []string{"cannot read /no/such/ants.mp4: no such file"}},
		{"a folder", []string{"--title", "Ants", t.TempDir()}, 1, []string{"is a directory"}},
		{"not a video", []string{"--quiet", "--title", "My notes", notVideo}, 1, []string{"publishing failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--data", dir, "--loopback-only", "publish"}, tc.args...)
			out, errOut, code := runCLI(t, args...)
			if code != tc.code || out != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
		})
	}
	lib := openTestLibrary(t, dir)
	vids, err := lib.MyVideos(context.Background())
	fatalIf(t, err)
	for _, v := range vids {
		if v.State == library.PublishDone || v.Meta.Title != "My notes" {
			t.Errorf("stored after bad input: %q (%s)", v.Meta.Title, v.State)
		}
	}
}

// TestPublishChildProcess is the CLI run as a process of its own by
// TestPublishCLIInterrupt (it does nothing otherwise).
func TestPublishChildProcess(t *testing.T) {
	args := os.Getenv("FOURMI_PUBLISH_CHILD_ARGS")
	if args == "" {
		return
	}
	os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
}

// Ctrl+C while publishing cancels the job: exit 1, the job cancelled
// and no encoded file left behind.
func TestPublishCLIInterrupt(t *testing.T) {
	// a source that must be encoded (for 240p), so the job lasts a moment
	src := testkit.Video(t, testkit.VideoSpec{Width: 640, Height: 360, FPS: 25, Seconds: 20})
	dir := t.TempDir()
	args := []string{"--data", dir, "--loopback-only", "publish", "--title", "Interrupted ants", "--resolutions", "240", src}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPublishChildProcess$")
	cmd.Env = append(os.Environ(), "FOURMI_PUBLISH_CHILD_ARGS="+strings.Join(args, "\x1f"))
	stderr, err := cmd.StderrPipe()
	fatalIf(t, err)
	fatalIf(t, cmd.Start())
	var lines []string
	sc := bufio.NewScanner(stderr)
	started := false
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "publishing \"Interrupted ants\"") {
			started = true
			fatalIf(t, cmd.Process.Signal(os.Interrupt))
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !started || !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("started %v, exit %v\n%s", started, err, strings.Join(lines, "\n"))
	}
	if !strings.Contains(strings.Join(lines, "\n"), "publishing was cancelled") {
		t.Errorf("stderr does not say it was cancelled:\n%s", strings.Join(lines, "\n"))
	}
	lib := openTestLibrary(t, dir)
	vids, err := lib.MyVideos(context.Background())
	fatalIf(t, err)
	t.Logf("stderr:\n%s", strings.Join(lines, "\n"))
	if len(vids) != 1 {
		t.Fatalf("%d videos after Ctrl+C, want the cancelled one", len(vids))
	}
	for _, v := range vids {
		if v.State != library.PublishCancelled {
			t.Errorf("%q is %s after Ctrl+C", v.Meta.Title, v.State)
		}
		mp4s, _ := filepath.Glob(filepath.Join(dir, "videos", v.UUID, "*.mp4"))
		if len(mp4s) != 0 {
			t.Errorf("files left behind: %v", mp4s)
		}
	}
}

func fatalIf(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
