// Package player hands a stream to a real video player and follows it: mpv
// controlled over its JSON IPC socket (start position, pause, seek, the
// current position for "resume", end of file for "watched"), with VLC and
// then the operating system's default handler as fallbacks when mpv is
// absent. It imports nothing of Fourmi's.
package player

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Kind names a player program.
type Kind string

const (
	MPV       Kind = "mpv"
	VLC       Kind = "vlc"
	OSDefault Kind = "default" // xdg-open, open, or the Windows shell
)

// ErrNoPlayer means neither mpv, VLC nor an OS handler could be found.
var ErrNoPlayer = errors.New("no video player found: install mpv (or VLC)")

// Options configure Launch.
type Options struct {
	// Prefer is the first player to try; "" means mpv, then VLC, then the
	// OS default.
	Prefer Kind
	Title  string        // window title
	Start  time.Duration // resume position
	// Headless runs mpv without video or audio output (tests, benchmarks).
	Headless bool
	// Extra arguments for mpv.
	Extra []string
	// lookPath finds programs; replaced in tests.
	lookPath func(string) (string, error)
}

// Result is how a playback ended.
type Result struct {
	Kind     Kind
	Position time.Duration // last known position (mpv only)
	Duration time.Duration // media duration when known (mpv only)
	EOF      bool          // played to the end
}

// Session is one running player.
type Session struct {
	kind Kind
	cmd  *exec.Cmd
	dir  string // temp dir holding the IPC socket

	conn    net.Conn
	writeMu sync.Mutex
	nextID  atomic.Int64

	mu       sync.Mutex
	pending  map[int64]chan reply
	position time.Duration
	duration time.Duration
	paused   bool
	eof      bool

	done    chan struct{}
	waitErr error
}

type reply struct {
	Data  json.RawMessage `json:"data"`
	Error string          `json:"error"`
}

// Available reports which player Launch would use.
func Available(opt Options) (Kind, string, error) {
	look := opt.lookPath
	if look == nil {
		look = exec.LookPath
	}
	order := []Kind{MPV, VLC, OSDefault}
	if opt.Prefer != "" {
		order = append([]Kind{opt.Prefer}, order...)
	}
	for _, k := range order {
		for _, name := range programs(k) {
			if p, err := look(name); err == nil {
				return k, p, nil
			}
		}
	}
	return "", "", ErrNoPlayer
}

func programs(k Kind) []string {
	switch k {
	case MPV:
		return []string{"mpv"}
	case VLC:
		return []string{"vlc", "cvlc"}
	case OSDefault:
		switch runtime.GOOS {
		case "darwin":
			return []string{"open"}
		case "windows":
			return []string{"rundll32"}
		default:
			return []string{"xdg-open"}
		}
	}
	return nil
}

// Launch starts a player on url (an http stream URL or a file). With mpv the
// session is controlled and followed over IPC; with VLC or the OS handler it
// is only started (Wait returns when that process exits).
func Launch(ctx context.Context, url string, opt Options) (*Session, error) {
	kind, path, err := Available(opt)
	if err != nil {
		return nil, err
	}
	s := &Session{kind: kind, pending: map[int64]chan reply{}, done: make(chan struct{})}
	var args []string
	switch kind {
	case MPV:
		s.dir, err = os.MkdirTemp("", "fourmi-mpv-")
		if err != nil {
			return nil, err
		}
		sock := filepath.Join(s.dir, "ipc.sock")
		args = []string{"--no-config", "--input-ipc-server=" + sock, "--idle=no", "--keep-open=no",
			"--force-window=" + map[bool]string{true: "no", false: "yes"}[opt.Headless]}
		if opt.Title != "" {
			args = append(args, "--title="+opt.Title, "--force-media-title="+opt.Title)
		}
		if opt.Start > 0 {
			args = append(args, "--start="+strconv.FormatFloat(opt.Start.Seconds(), 'f', 3, 64))
		}
		if opt.Headless {
			args = append(args, "--vo=null", "--ao=null", "--really-quiet")
		}
		args = append(args, opt.Extra...)
		args = append(args, "--", url)
	case VLC:
		args = []string{"--play-and-exit"}
		if opt.Start > 0 {
			args = append(args, "--start-time="+strconv.Itoa(int(opt.Start.Seconds())))
		}
		args = append(args, url)
	case OSDefault:
		if runtime.GOOS == "windows" {
			args = []string{"url.dll,FileProtocolHandler", url}
		} else {
			args = []string{url}
		}
	}
	s.cmd = exec.Command(path, args...)
	if err := s.cmd.Start(); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("starting %s: %w", kind, err)
	}
	exited := make(chan struct{})
	go func() {
		s.waitErr = s.cmd.Wait()
		close(exited)
	}()
	if kind == MPV {
		if err := s.connect(ctx, filepath.Join(s.dir, "ipc.sock"), exited); err != nil {
			s.cmd.Process.Kill()
			<-exited
			s.cleanup()
			return nil, err
		}
	}
	go func() {
		<-exited
		if s.conn != nil {
			s.conn.Close()
		}
		s.cleanup()
		close(s.done)
	}()
	return s, nil
}

// connect waits for mpv's socket, then follows its events.
func (s *Session) connect(ctx context.Context, sock string, exited <-chan struct{}) error {
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			s.conn = c
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("mpv exited before opening its control socket: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errors.New("mpv did not open its control socket within 15 s")
		case <-time.After(20 * time.Millisecond):
		}
	}
	go s.readLoop()
	for i, prop := range []string{"time-pos", "duration", "pause"} {
		if _, err := s.command(ctx, "observe_property", i+1, prop); err != nil {
			return fmt.Errorf("mpv: observing %s: %w", prop, err)
		}
	}
	return nil
}

func (s *Session) readLoop() {
	sc := bufio.NewScanner(s.conn)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m struct {
			reply
			RequestID *int64          `json:"request_id"`
			Event     string          `json:"event"`
			Name      string          `json:"name"`
			Reason    string          `json:"reason"`
			Data      json.RawMessage `json:"data"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		s.mu.Lock()
		switch {
		case m.RequestID != nil && m.Event == "":
			if ch, ok := s.pending[*m.RequestID]; ok {
				delete(s.pending, *m.RequestID)
				ch <- reply{Data: m.Data, Error: m.Error}
			}
		case m.Event == "property-change":
			var f float64
			var b bool
			switch m.Name {
			case "time-pos":
				if json.Unmarshal(m.Data, &f) == nil {
					s.position = seconds(f)
				}
			case "duration":
				if json.Unmarshal(m.Data, &f) == nil {
					s.duration = seconds(f)
				}
			case "pause":
				if json.Unmarshal(m.Data, &b) == nil {
					s.paused = b
				}
			}
		case m.Event == "end-file":
			if m.Reason == "eof" {
				s.eof = true
			}
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	for id, ch := range s.pending {
		delete(s.pending, id)
		ch <- reply{Error: "mpv closed its control socket"}
	}
	s.mu.Unlock()
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// command sends one IPC command and waits for mpv's answer.
func (s *Session) command(ctx context.Context, args ...any) (json.RawMessage, error) {
	if s.conn == nil {
		return nil, fmt.Errorf("%s cannot be controlled; only mpv can", s.kind)
	}
	id := s.nextID.Add(1)
	ch := make(chan reply, 1)
	s.mu.Lock()
	s.pending[id] = ch
	s.mu.Unlock()
	b, err := json.Marshal(map[string]any{"command": args, "request_id": id})
	if err != nil {
		return nil, err
	}
	s.writeMu.Lock()
	_, err = s.conn.Write(append(b, '\n'))
	s.writeMu.Unlock()
	if err != nil {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		return nil, fmt.Errorf("mpv: %w", err)
	}
	select {
	case r := <-ch:
		if r.Error != "success" {
			return nil, fmt.Errorf("mpv: %v: %s", args[0], r.Error)
		}
		return r.Data, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Kind is the player in use.
func (s *Session) Kind() Kind { return s.kind }

// Position is the last position mpv reported.
func (s *Session) Position() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.position
}

// Duration is the media duration mpv reported (0 until known).
func (s *Session) Duration() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duration
}

// Paused reports mpv's pause state.
func (s *Session) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// Pause pauses or resumes playback.
func (s *Session) Pause(ctx context.Context, pause bool) error {
	_, err := s.command(ctx, "set_property", "pause", pause)
	return err
}

// Seek jumps to an absolute position.
func (s *Session) Seek(ctx context.Context, pos time.Duration) error {
	_, err := s.command(ctx, "seek", pos.Seconds(), "absolute")
	return err
}

// CurrentPosition asks mpv for the position now (rather than the last event).
func (s *Session) CurrentPosition(ctx context.Context) (time.Duration, error) {
	b, err := s.command(ctx, "get_property", "time-pos")
	if err != nil {
		return 0, err
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return 0, fmt.Errorf("mpv: time-pos %s: %w", b, err)
	}
	return seconds(f), nil
}

// Done is closed when the player exits.
func (s *Session) Done() <-chan struct{} { return s.done }

// Wait waits for the player to exit and says how playback ended.
func (s *Session) Wait(ctx context.Context) (Result, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		return s.result(), ctx.Err()
	}
	r := s.result()
	if s.waitErr != nil && !r.EOF && s.kind == MPV {
		// mpv exits 2 when the file could not be played.
		var ee *exec.ExitError
		if errors.As(s.waitErr, &ee) && ee.ExitCode() == 2 {
			return r, errors.New("mpv could not play the stream")
		}
	}
	return r, nil
}

func (s *Session) result() Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Result{Kind: s.kind, Position: s.position, Duration: s.duration, EOF: s.eof}
}

// Close stops the player (mpv is asked to quit; others are killed).
func (s *Session) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := s.command(ctx, "quit")
		cancel()
		if err == nil {
			select {
			case <-s.done:
				return nil
			case <-time.After(3 * time.Second):
			}
		}
	}
	s.cmd.Process.Kill()
	<-s.done
	return nil
}

func (s *Session) cleanup() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
