package gui

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fourmi-app/fourmi/library"
)

// statsInterval is how often a playback's numbers are read: speeds and
// peers are polled about once a second, never streamed change by change.
const statsInterval = time.Second

// startTimeout bounds starting a playback (torrent, stream, player).
const startTimeout = 2 * time.Minute

// session is one video being watched (a player runs) or streamed (only
// the loopback stream, for "Copy stream URL"). Its fields belong to the UI
// thread except pb, which is safe for concurrent use.
type session struct {
	key    string // the video's UUID, or transferKey(info-hash) for a bare transfer
	title  string
	pb     library.Playback
	stats  library.TransferStats
	pos    time.Duration
	ended  bool
	stop   chan struct{} // closed when the session ends: its poll stops
	stopBy bool          // the user pressed Stop
	// replaced: a new playback of the same video took its place
	replaced bool
}

// transferKey is the session key of a transfer played without a video.
func transferKey(infoHash string) string { return "torrent:" + infoHash }

// streamOnly says the session has no player (Copy stream URL).
func (s *session) streamOnly() bool { return s.pb.Player() == "" }

// isNoPlayer tells the error that means "install a player".
func isNoPlayer(err error) bool { return errors.Is(err, library.ErrNoPlayer) }

// startSession starts a playback with start (on a goroutine) and, once it
// runs, registers it under key and polls its stats. done runs on the UI
// thread with the session, or with the error. A session already under key
// is stopped first (Play again, another resolution).
func (u *UI) startSession(key, title string, start func(context.Context) (library.Playback, error), done func(*session, error)) {
	old := u.sessions[key]
	if old != nil {
		old.replaced = true
		u.endSession(old, nil)
	}
	u.goRun(func(ctx context.Context) {
		if old != nil {
			if err := old.pb.Stop(); err != nil {
				u.log.Info("stop the previous playback", "key", key, "err", err)
			}
		}
		sctx, cancel := context.WithTimeout(ctx, startTimeout)
		pb, err := start(sctx)
		cancel()
		if err == nil && ctx.Err() != nil { // the window closed meanwhile
			pb.Stop()
			return
		}
		u.do(func() {
			if err != nil {
				done(nil, err)
				return
			}
			if prev := u.sessions[key]; prev != nil { // two starts raced: the last wins
				prev.replaced = true
				u.endSession(prev, nil)
				u.goRun(func(context.Context) { prev.pb.Stop() })
			}
			s := &session{key: key, title: title, pb: pb, stop: make(chan struct{})}
			u.sessions[key] = s
			u.pollSession(s)
			done(s, nil)
			u.sessionChanged(s)
		})
	})
}

// pollSession reads the session's stats once a second until it ends.
func (u *UI) pollSession(s *session) {
	pb, stop := s.pb, s.stop
	u.goRun(func(ctx context.Context) {
		t := time.NewTicker(statsInterval)
		defer t.Stop()
		for {
			st, pos := pb.Stats(), pb.Position()
			u.do(func() {
				if !s.ended {
					s.stats, s.pos = st, pos
					u.sessionChanged(s)
				}
			})
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-pb.Done():
				err := pb.Err()
				u.do(func() { u.endSession(s, err) })
				return
			case <-t.C:
			}
		}
	})
}

// stopSession is the Stop button: the player closes, the torrent keeps
// seeding.
func (u *UI) stopSession(s *session) {
	if s.ended || s.stopBy {
		return
	}
	s.stopBy = true
	u.sessionChanged(s)
	u.goRun(func(context.Context) {
		err := s.pb.Stop()
		u.do(func() { u.endSession(s, err) })
	})
}

// endSession forgets a session that ended (player closed, Stop, replaced);
// err is why it failed, or nil.
func (u *UI) endSession(s *session, err error) {
	if s.ended {
		return
	}
	s.ended = true
	close(s.stop)
	if u.sessions[s.key] == s {
		delete(u.sessions, s.key)
	}
	if err != nil {
		u.log.Info("playback ended", "key", s.key, "err", err)
	}
	u.video.sessionEnded(s, err)
	u.library.sessionEnded(s)
}

// sessionChanged tells the screens that show sessions.
func (u *UI) sessionChanged(s *session) {
	u.video.sessionChanged(s)
	u.library.sessionChanged(s)
}

// stopWait bounds how long closing the window waits for the players.
const stopWait = 10 * time.Second

// stopAllSessions closes every player (the window is closing: the stream
// server goes away with the library). A player that does not stop within
// stopWait is left to the library's Close.
func (u *UI) stopAllSessions() {
	var wg sync.WaitGroup
	for _, s := range u.sessions {
		if s.ended {
			continue
		}
		s.ended = true
		close(s.stop)
		wg.Add(1)
		go func(pb library.Playback) {
			defer wg.Done()
			pb.Stop()
		}(s.pb)
	}
	u.sessions = map[string]*session{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopWait):
		u.log.Warn("players still running after closing the window", "waited", stopWait)
	}
}
