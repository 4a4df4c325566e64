package library

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// assertUnpublished checks a failed or cancelled job left nothing: no
// directory, no catalog entry, no transfer, no file rows.
func assertUnpublished(t *testing.T, l *Library, uuid string) {
	t.Helper()
	if names := dirNames(t, l.videoDir(uuid)); names != nil {
		t.Errorf("the video's directory still holds %v", names)
	}
	if v, tr, f := publishedRows(t, l, uuid); v+tr+f != 0 {
		t.Errorf("left %d catalog rows, %d transfers, %d file rows", v, tr, f)
	}
	if names := strays(t, l.Dir()); len(names) > 0 {
		t.Errorf("temporary files left: %v", names)
	}
	ts, err := l.Transfers(context.Background())
	if err != nil || len(ts) != 0 {
		t.Errorf("transfers %v %v", ts, err)
	}
}

// Files that are not usable videos fail with a sentence for the creator and
// leave nothing behind; the source is never modified.
func TestPublishBadFiles(t *testing.T) {
	needFFmpeg(t)
	in := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := genH264MP4(t, in)
	goodBytes, _ := os.ReadFile(good)
	lying := append([]byte(nil), goodBytes...)
	i := bytes.Index(lying, []byte("mvhd"))
	if i < 0 || lying[i+4] != 0 {
		t.Fatal("no version-0 mvhd in the generated MP4")
	}
	binary.BigEndian.PutUint32(lying[i+20:], binary.BigEndian.Uint32(lying[i+20:])*30)

	l := startPublishLib(t, Options{})
	cases := []struct {
		name, file, want string
	}{
		{"not a video", write("notes.mp4", []byte("hello, this is not a video\n")), "is not a video or audio file"},
		{"truncated", write("half.mp4", goodBytes[:len(goodBytes)/2]), "is truncated"},
		{"lies about its duration", write("lying.mp4", lying), "the duration it claims does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := os.ReadFile(c.file)
			v, err := publishWait(t, l, PublishRequest{File: c.file, Meta: testMeta("Bad " + c.name)})
			if err == nil || v.State != PublishFailed {
				t.Fatalf("WaitPublished = %v (%s), want failed", err, v.State)
			}
			if !strings.Contains(v.Progress.Error, c.want) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q / %v, want it to say %q", v.Progress.Error, err, c.want)
			}
			t.Logf("message: %s", v.Progress.Error)
			assertUnpublished(t, l, v.UUID)
			if after, _ := os.ReadFile(c.file); !bytes.Equal(before, after) {
				t.Error("the source was modified")
			}
			// A failed job stays listed with its message.
			mv, err := l.MyVideo(context.Background(), v.UUID)
			if err != nil || mv.State != PublishFailed || mv.Progress.Error != v.Progress.Error {
				t.Errorf("MyVideo = %+v %v", mv, err)
			}
		})
	}

	// Refused before any work: an empty file, a missing one, a directory,
	// bad metadata; nothing is queued.
	ctx := context.Background()
	for name, req := range map[string]PublishRequest{
		"zero-length":  {File: write("empty.mp4", nil), Meta: testMeta("Empty file")},
		"missing":      {File: filepath.Join(in, "gone.mp4"), Meta: testMeta("Missing file")},
		"directory":    {File: in, Meta: testMeta("A directory")},
		"no file":      {Meta: testMeta("No file")},
		"bad metadata": {File: good, Meta: Metadata{Title: "ab", Tags: []string{"x"}}},
		"bad ladder":   {File: good, Meta: testMeta("Bad ladder"), Resolutions: []int{-720}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := l.Publish(ctx, req)
			var ve ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Publish = %v, want a ValidationError", err)
			}
			field := "file"
			switch name {
			case "bad metadata":
				field = "title"
				if ve.For("tags") == "" {
					t.Errorf("tags not reported: %v", ve)
				}
			case "bad ladder":
				field = "resolutions"
			}
			if ve.For(field) == "" {
				t.Fatalf("errors %v, want one on %s", ve, field)
			}
			t.Logf("%v", err)
		})
	}
	vs, err := l.MyVideos(ctx)
	if err != nil || len(vs) != len(cases) {
		t.Fatalf("MyVideos: %d videos, %v; want only the %d failed jobs", len(vs), err, len(cases))
	}
}

// The file is removed between Publish and the runner picking the job up.
func TestPublishSourceRemoved(t *testing.T) {
	needFFmpeg(t)
	src := genH264MP4(t, t.TempDir())
	l := openTest(t, publishOpts(t.TempDir()))
	ctx := context.Background()
	v, err := l.Publish(ctx, PublishRequest{File: src, Meta: testMeta("Removed file")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	got, err := l.WaitPublished(wctx, v.UUID)
	if err == nil || got.State != PublishFailed || !strings.Contains(got.Progress.Error, "is no longer there") {
		t.Fatalf("WaitPublished = %v, %q", err, got.Progress.Error)
	}
	assertUnpublished(t, l, v.UUID)
}

// waitEncoding publishes and returns once ffmpeg is encoding the job.
func waitEncoding(t *testing.T, l *Library, req PublishRequest) LocalVideo {
	t.Helper()
	encoding := make(chan struct{})
	var uuid = make(chan string, 1)
	var id string
	unsub := l.SubscribePublish(func(p PublishProgress) {
		if id == "" {
			select {
			case id = <-uuid:
			default:
				return
			}
		}
		if p.UUID != id || p.State != PublishRunning {
			return
		}
		for _, s := range p.Steps {
			if s.Step == StepEncode && !s.Done && s.Fraction > 0 {
				select {
				case <-encoding:
				default:
					close(encoding)
				}
				return
			}
		}
	})
	defer unsub()
	v, err := l.Publish(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	uuid <- v.UUID
	select {
	case <-encoding:
	case <-time.After(2 * time.Minute):
		t.Fatal("the encode never started")
	}
	return v
}

// A slow-enough input: 6 s of 640×360 that must be transcoded.
func genSlow(t testing.TB, dir string) string {
	return ffgen(t, dir, "slow.mkv", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=6", "-f", "lavfi", "-i",
		"sine=frequency=440:d=6", "-c:v", "mpeg4", "-q:v", "4", "-c:a", "mp3", "-shortest")
}

// Cancel mid-encode: ffmpeg killed, files removed, state cancelled.
func TestPublishCancelMidEncode(t *testing.T) {
	needFFmpeg(t)
	src := genSlow(t, t.TempDir())
	l := startPublishLib(t, Options{})
	v := waitEncoding(t, l, PublishRequest{File: src, Meta: testMeta("Cancelled")})
	ctx := context.Background()
	if err := l.CancelPublish(ctx, v.UUID); err != nil {
		t.Fatalf("CancelPublish: %v", err)
	}
	got, err := l.WaitPublished(ctx, v.UUID)
	if !errors.Is(err, ErrPublishCancelled) || got.State != PublishCancelled {
		t.Fatalf("WaitPublished = %v (%s), want cancelled", err, got.State)
	}
	assertUnpublished(t, l, v.UUID)
	if procs := ffmpegChildren(); len(procs) > 0 {
		t.Errorf("ffmpeg still running: pids %v", procs)
	}
	if err := l.CancelPublish(ctx, v.UUID); err == nil {
		t.Error("cancelling a cancelled job succeeded")
	}
	// The queue goes on.
	ok, err := publishWait(t, l, PublishRequest{File: genH264MP4(t, t.TempDir()), Meta: testMeta("After cancel")})
	if err != nil || ok.State != PublishDone {
		t.Fatalf("next job: %v", err)
	}
	// A queued job cancelled before it starts.
	l2 := openTest(t, publishOpts(t.TempDir()))
	q, err := l2.Publish(ctx, PublishRequest{File: src, Meta: testMeta("Never started")})
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.CancelPublish(ctx, q.UUID); err != nil {
		t.Fatal(err)
	}
	if got, _ := l2.MyVideo(ctx, q.UUID); got.State != PublishCancelled {
		t.Fatalf("state %s", got.State)
	}
}

// A disk that fills during the encode: failed with a clear message, the
// temporary files removed, the library otherwise unchanged.
func TestPublishDiskFull(t *testing.T) {
	needFFmpeg(t)
	in := t.TempDir()
	// Noise does not compress: the transcode needs megabytes.
	src := ffgen(t, in, "noise.mkv", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2", "-vf", "noise=alls=80:allf=t",
		"-c:v", "mpeg4", "-q:v", "2")
	opt := publishOpts(t.TempDir())
	videos := filepath.Join(opt.Dir, "videos")
	if err := os.MkdirAll(videos, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", videos).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root/CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", videos).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", videos, err, out)
		}
	})
	l := startPublishLib(t, opt)
	ctx := context.Background()
	before, err := l.SearchLocal(ctx, "test", 10)
	if err != nil {
		t.Fatal(err)
	}
	v, err := publishWait(t, l, PublishRequest{File: src, Meta: testMeta("Disk full")})
	if err == nil || v.State != PublishFailed || !strings.Contains(v.Progress.Error, "Not enough disk space") {
		t.Fatalf("WaitPublished = %v (%s): %q", err, v.State, v.Progress.Error)
	}
	t.Logf("message: %s", v.Progress.Error)
	encodeReached := false
	for _, s := range v.Progress.Steps {
		encodeReached = encodeReached || s.Step == StepEncode && !s.Done
	}
	if !encodeReached {
		t.Errorf("the job did not fail during the encode: steps %+v", v.Progress.Steps)
	}
	assertUnpublished(t, l, v.UUID)
	if names := dirNames(t, videos); len(names) != 0 {
		t.Errorf("the full disk holds %v", names)
	}
	after, err := l.SearchLocal(ctx, "test", 10)
	if err != nil || !slices.Equal(uuids(before), uuids(after)) {
		t.Errorf("catalog changed: %v → %v", uuids(before), uuids(after))
	}
}

// Closing the library mid-encode leaves the job running in the database;
// the next start redoes it from a clean directory and completes it.
func TestPublishRestartInterrupted(t *testing.T) {
	needFFmpeg(t)
	src := genSlow(t, t.TempDir())
	opt := publishOpts(t.TempDir())
	l, err := Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := waitEncoding(t, l, PublishRequest{File: src, Meta: testMeta("Interrupted")})
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if procs := ffmpegChildren(); len(procs) > 0 {
		t.Errorf("ffmpeg still running after Close: pids %v", procs)
	}
	l = startPublishLib(t, opt)
	ctx := context.Background()
	mv, err := l.MyVideo(ctx, v.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if mv.State == PublishDone {
		t.Fatal("the job finished before Close: the test did not interrupt it")
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	got, err := l.WaitPublished(wctx, v.UUID)
	if err != nil {
		t.Fatalf("WaitPublished after restart: %v", err)
	}
	want := []string{"preview.jpg", "thumbnail.jpg"}
	for _, f := range got.Files {
		want = append(want, filepath.Base(f.Path), filepath.Base(f.TorrentPath))
	}
	slices.Sort(want)
	if names := dirNames(t, l.videoDir(v.UUID)); !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v", names, want)
	}
	if names := strays(t, l.Dir()); len(names) > 0 {
		t.Errorf("stray files: %v", names)
	}
	// A published video seeds again after a restart.
	l.Close()
	l = startPublishLib(t, opt)
	ih := got.Files[0].InfoHash
	deadline := time.Now().Add(time.Minute)
	for {
		tr, err := l.TransferByHash(ctx, ih)
		if err == nil && tr.State == StateSeeding && tr.Stats.Completed == got.Files[0].Size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a restart the published file is not seeding: %+v %v", tr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
