// Package media turns a local audio or video file into what a PeerTube
// instance would serve: it probes the file (ffprobe), makes the JPEG
// thumbnail and preview, plans which resolutions to produce and encodes them
// to web-playable H.264/AAC MP4 with faststart (ffmpeg), reporting progress
// and never leaving a half-written file behind.
//
// It runs the ffmpeg and ffprobe executables (no shell, no cgo) and imports
// nothing of Fourmi's. Every output is written to a hidden temporary file in
// its destination directory and renamed into place only when complete; after
// a crash, RemoveStale deletes the leftovers.
package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Errors reported by this package. Test them with errors.Is; the wrapping
// error carries the details (file, what ffmpeg said).
var (
	// ErrNotMedia: the file is not a video or audio file ffmpeg can read
	// (a text file, a still image, an empty file, no duration).
	ErrNotMedia = errors.New("not a video or audio file")
	// ErrTruncated: the file's structure says data is missing (a copy or a
	// recording that stopped early).
	ErrTruncated = errors.New("file is truncated")
	// ErrDurationMismatch: the container claims a duration its packets do
	// not cover (or they run well past it).
	ErrDurationMismatch = errors.New("container duration does not match the content")
	// ErrDiskFull: the destination ran out of space (ENOSPC) or refused a
	// file that large (EFBIG). The partial output has been removed.
	ErrDiskFull = errors.New("not enough disk space for the output")
	// ErrNoTool: ffmpeg or ffprobe could not be found or started.
	ErrNoTool = errors.New("ffmpeg/ffprobe not available")
)

// Tool runs ffmpeg and ffprobe. The zero value is ready to use: it finds
// both in PATH and logs nothing. A Tool holds no state between calls and is
// safe for concurrent use.
type Tool struct {
	FFmpeg  string       // path of ffmpeg; "" means "ffmpeg" from PATH
	FFprobe string       // path of ffprobe; "" means "ffprobe" from PATH
	Logger  *slog.Logger // nil discards
}

var defaultTool Tool

// Probe is Tool.Probe on the zero Tool.
func Probe(ctx context.Context, path string) (Info, error) { return defaultTool.Probe(ctx, path) }

func (t *Tool) log() *slog.Logger {
	if t.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Logger
}

func (t *Tool) ffmpeg() string {
	if t.FFmpeg != "" {
		return t.FFmpeg
	}
	return "ffmpeg"
}

func (t *Tool) ffprobe() string {
	if t.FFprobe != "" {
		return t.FFprobe
	}
	return "ffprobe"
}

// command builds an exec.Cmd that dies with its parent where the OS allows
// it and is killed (not asked) when ctx ends.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = 5 * time.Second // pipes closed this long after a kill
	return cmd
}

// run runs a short command and returns its stdout; on failure the error
// holds the tail of stderr.
func (t *Tool) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := command(ctx, name, args...)
	var out bytes.Buffer
	errTail := &tailBuffer{max: 4096}
	cmd.Stdout = &out
	cmd.Stderr = errTail
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s: %v", ErrNoTool, name, err)
		}
		return out.Bytes(), &toolError{tool: filepath.Base(name), err: err, stderr: errTail.String()}
	}
	return out.Bytes(), nil
}

func isNotFound(err error) bool {
	return errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.EACCES)
}

// toolError is a failed ffmpeg/ffprobe run: the exit status and what it said.
type toolError struct {
	tool   string
	err    error
	stderr string
}

func (e *toolError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		return fmt.Sprintf("%s: %v", e.tool, e.err)
	}
	return fmt.Sprintf("%s: %v: %s", e.tool, e.err, lastLines(msg, 3))
}

func (e *toolError) Unwrap() error { return e.err }

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// tailBuffer keeps the last max bytes written to it (ffmpeg's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if over := len(w.b) - w.max; over > 0 {
		w.b = append(w.b[:0], w.b[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

var _ io.Writer = (*tailBuffer)(nil)

// ffPath names a local file for ffmpeg so that nothing in it (a colon, a
// leading dash) is taken for a protocol or an option.
func ffPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return "file:" + abs
}
