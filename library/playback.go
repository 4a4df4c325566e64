package library

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/fourmi-app/fourmi/library/player"
	"github.com/fourmi-app/fourmi/peer"
)

// playback is the Playback of a video (or a bare transfer) being watched or
// streamed.
type playback struct {
	l         *Library
	video     Video // zero for a bare transfer
	file      VideoFile
	ih        string
	playURL   string // what the player opens: the stream URL or the local file
	streamURL string
	sess      *player.Session // nil when only streaming
	kind      string
	start     time.Duration

	done     chan struct{}
	stopOnce sync.Once

	mu  sync.Mutex
	pos time.Duration
	err error
}

var _ Playback = (*playback)(nil)

func (p *playback) Video() Video      { return p.video }
func (p *playback) File() VideoFile   { return p.file }
func (p *playback) InfoHash() string  { return p.ih }
func (p *playback) StreamURL() string { return p.streamURL }
func (p *playback) Player() string    { return p.kind }

// Done is closed when the player exits (for a stream: at Stop).
func (p *playback) Done() <-chan struct{} { return p.done }

func (p *playback) Stats() TransferStats {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t, err := p.l.TransferByHash(ctx, p.ih)
	if err != nil {
		return TransferStats{Error: err.Error()}
	}
	return t.Stats
}

func (p *playback) Position() time.Duration {
	if p.sess != nil && p.kind == string(player.MPV) {
		if pos := p.sess.Position(); pos > 0 {
			return pos
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos
}

func (p *playback) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Stop closes the player and waits until the position is saved. The torrent
// keeps seeding.
func (p *playback) Stop() error {
	p.stopOnce.Do(func() {
		if p.sess != nil {
			p.sess.Close()
			return
		}
		p.l.unregister(p)
		close(p.done)
	})
	<-p.done
	return nil
}

// history reports whether positions are recorded (a video of the catalog).
func (p *playback) history() bool { return p.video.UUID != "" }

// follow saves the position every PositionSaveInterval and at exit, and
// marks the video watched when it was played to the end.
func (p *playback) follow() {
	l := p.l
	defer close(p.done)
	defer l.unregister(p)
	tick := time.NewTicker(l.opt.PositionSaveInterval)
	defer tick.Stop()
	mpv := p.kind == string(player.MPV)
	saved := p.start
	for {
		select {
		case <-tick.C:
			if !mpv || !p.history() {
				continue
			}
			if pos := p.sess.Position(); pos > 0 && pos != saved {
				p.setPos(pos)
				if err := l.saveHistory(context.Background(), p.video.UUID, pos, p.duration(0), false); err != nil {
					l.log.Error("saving the position", "uuid", p.video.UUID, "err", err)
				}
				saved = pos
			}
		case <-p.sess.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, err := p.sess.Wait(ctx)
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			if mpv && p.history() {
				pos, dur := res.Position, p.duration(res.Duration)
				watched := res.EOF || nearEnd(pos, dur)
				if pos > 0 || watched {
					p.setPos(pos)
					if err := l.saveHistory(ctx, p.video.UUID, pos, dur, watched); err != nil {
						l.log.Error("saving the position", "uuid", p.video.UUID, "err", err)
					}
				}
			}
			if err := l.touchWatched(ctx, p.ih); err != nil {
				l.log.Error("recording the watch", "infohash", p.ih, "err", err)
			}
			l.log.Info("playback ended", "infohash", p.ih, "player", p.kind, "position", p.Position(), "eof", res.EOF, "err", err)
			return
		}
	}
}

func (p *playback) setPos(pos time.Duration) {
	p.mu.Lock()
	p.pos = pos
	p.mu.Unlock()
}

// duration is the video's duration: what the player reported, else the
// catalog's.
func (p *playback) duration(reported time.Duration) time.Duration {
	if reported > 0 {
		return reported
	}
	if p.sess != nil {
		if d := p.sess.Duration(); d > 0 {
			return d
		}
	}
	return p.video.Duration
}

// register adds a playback to the running ones (refused after Close).
func (l *Library) register(p *playback) error {
	w := &l.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	w.playbacks[p] = struct{}{}
	return nil
}

func (l *Library) unregister(p *playback) {
	w := &l.watch
	w.mu.Lock()
	delete(w.playbacks, p)
	w.mu.Unlock()
}

// playingSet is the info-hashes being played or streamed.
func (l *Library) playingSet() map[string]bool {
	w := &l.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]bool{}
	for p := range w.playbacks {
		out[p.ih] = true
	}
	return out
}

// stopPlaybacks stops the playbacks of one torrent.
func (l *Library) stopPlaybacks(ih string) {
	w := &l.watch
	w.mu.Lock()
	var ps []*playback
	for p := range w.playbacks {
		if p.ih == ih {
			ps = append(ps, p)
		}
	}
	w.mu.Unlock()
	for _, p := range ps {
		p.Stop()
	}
}

// playerPref is the player to use: the request's, else SettingPlayer, else
// Options.PlayerPrefer.
func (l *Library) playerPref(ctx context.Context, requested string) (string, error) {
	p := requested
	if p == "" {
		v, _, err := l.Setting(ctx, SettingPlayer)
		if err != nil {
			return "", err
		}
		p = v
	}
	if p == "" {
		p = l.opt.PlayerPrefer
	}
	switch player.Kind(p) {
	case "", player.MPV, player.VLC, player.OSDefault:
		return p, nil
	}
	return "", fmt.Errorf("library: unknown player %q (want mpv, vlc or default)", p)
}

// newPlayback prepares the stream of a transfer: the loopback stream URL
// of its largest file, or the file itself when it is complete on disk and
// not in the engine.
func (l *Library) newPlayback(ctx context.Context, v Video, f VideoFile, ih string, local bool) (*playback, error) {
	p := &playback{l: l, video: v, file: f, ih: ih, done: make(chan struct{})}
	if local {
		path, err := l.filePath(ctx, ih)
		if err != nil {
			return nil, err
		}
		p.playURL, p.streamURL = path, (&url.URL{Scheme: "file", Path: path}).String()
		return p, nil
	}
	e, err := l.engine()
	if err != nil {
		return nil, err
	}
	h, _ := peer.ParseInfoHash(ih)
	if err := e.WaitInfo(ctx, h); err != nil {
		return nil, fmt.Errorf("library: waiting for the torrent's metadata: %w", err)
	}
	files, err := e.Files(h)
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	u, err := e.StreamURL(h, largestFile(files), v.Duration)
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	p.playURL, p.streamURL = u, u
	return p, nil
}

// launch starts the player on p at start and follows it.
func (l *Library) launch(ctx context.Context, p *playback, start time.Duration, pref string) (Playback, error) {
	title := p.video.Name
	if title == "" {
		title = p.file.Label
	}
	sess, err := player.Launch(ctx, p.playURL, player.Options{
		Prefer: player.Kind(pref), Title: title, Start: start, Headless: l.opt.PlayerHeadless,
	})
	if err != nil {
		return nil, fmt.Errorf("library: starting the player: %w (the video stays available at %s)", err, p.streamURL)
	}
	p.sess, p.kind, p.start, p.pos = sess, string(sess.Kind()), start, start
	if err := l.register(p); err != nil {
		sess.Close()
		return nil, err
	}
	if p.history() {
		if p.kind == string(player.MPV) {
			err = l.saveHistory(ctx, p.video.UUID, start, p.video.Duration, false)
		} else {
			err = l.touchHistory(ctx, p.video.UUID, p.video.Duration)
		}
		if err != nil {
			l.log.Error("recording history", "uuid", p.video.UUID, "err", err)
		}
	}
	if err := l.touchWatched(ctx, p.ih); err != nil {
		l.log.Error("recording the watch", "infohash", p.ih, "err", err)
	}
	l.log.Info("playing", "infohash", p.ih, "player", p.kind, "from", start, "url", p.streamURL)
	l.watch.wg.Go(p.follow)
	return p, nil
}

// touchHistory puts a video at the top of the history without a position
// (a player that does not report one, or a bare stream).
func (l *Library) touchHistory(ctx context.Context, uuid string, dur time.Duration) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO history (video_uuid, duration_ms, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (video_uuid) DO UPDATE SET updated_at = excluded.updated_at`, uuid, dur.Milliseconds(), ms(l.now()))
		return err
	})
}

// Play adds the video's torrent (web seed = its file URL), starts a stream
// and a player at the resume position, and records the playback in history.
// A download that is complete on disk and no longer seeding plays from its
// file.
func (l *Library) Play(ctx context.Context, req PlayRequest) (Playback, error) {
	if _, err := l.engine(); err != nil {
		return nil, err
	}
	pref, err := l.playerPref(ctx, req.Player)
	if err != nil {
		return nil, err
	}
	p, err := l.videoPlayback(ctx, req.UUID, req.Resolution)
	if err != nil {
		return nil, err
	}
	start := time.Duration(0)
	if req.From != nil {
		start = max(*req.From, 0)
	} else if start, err = l.resumePosition(ctx, p.video.UUID); err != nil {
		return nil, fmt.Errorf("library: reading the resume position: %w", err)
	}
	return l.launch(ctx, p, start, pref)
}

// Stream is Play without a player: for "Copy stream URL" and other players.
// The Playback's Done closes at Stop; the video goes to the top of the
// history (its position is not known).
func (l *Library) Stream(ctx context.Context, uuid string, resolution int) (Playback, error) {
	if _, err := l.engine(); err != nil {
		return nil, err
	}
	p, err := l.videoPlayback(ctx, uuid, resolution)
	if err != nil {
		return nil, err
	}
	if err := l.register(p); err != nil {
		return nil, err
	}
	if err := l.touchHistory(ctx, p.video.UUID, p.video.Duration); err != nil {
		l.log.Error("recording history", "uuid", p.video.UUID, "err", err)
	}
	if err := l.touchWatched(ctx, p.ih); err != nil {
		l.log.Error("recording the watch", "infohash", p.ih, "err", err)
	}
	return p, nil
}

// videoPlayback picks a video's file at resolution, adds its torrent (or
// finds its download) and prepares a playback of it: Play and Stream.
func (l *Library) videoPlayback(ctx context.Context, uuid string, resolution int) (*playback, error) {
	v, f, err := l.videoFile(ctx, uuid, resolution)
	if err != nil {
		return nil, err
	}
	ih, local, err := l.transferOf(ctx, v, f)
	if err != nil {
		return nil, err
	}
	return l.newPlayback(ctx, v, f, ih, local)
}

// PlayTransfer plays the largest video file of a transfer (bare magnets).
// A paused or finished transfer plays from its file when complete, and is
// resumed otherwise. A transfer of a catalog video resumes where the user
// stopped and records history.
func (l *Library) PlayTransfer(ctx context.Context, infoHash string, playerName string) (Playback, error) {
	ih, err := normInfoHash(infoHash)
	if err != nil {
		return nil, err
	}
	if _, err := l.engine(); err != nil {
		return nil, err
	}
	pref, err := l.playerPref(ctx, playerName)
	if err != nil {
		return nil, err
	}
	r, err := l.transferRow(ctx, ih)
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	local := !r.state.active() && r.size > 0 && r.completed >= r.size
	if !r.state.active() && !local {
		if err := l.ResumeTransfer(ctx, ih); err != nil {
			return nil, err
		}
	}
	var v Video
	if r.videoUUID != "" {
		if v, err = l.Video(ctx, r.videoUUID); err != nil {
			return nil, err
		}
	}
	f := VideoFile{Resolution: r.resolution, Label: r.name, Size: r.size, TorrentURL: r.torrentURL,
		MagnetURI: r.magnet, FileURL: r.webSeed}
	p, err := l.newPlayback(ctx, v, f, ih, local)
	if err != nil {
		return nil, err
	}
	start := time.Duration(0)
	if v.UUID != "" {
		if start, err = l.resumePosition(ctx, v.UUID); err != nil {
			return nil, fmt.Errorf("library: reading the resume position: %w", err)
		}
	}
	return l.launch(ctx, p, start, pref)
}
