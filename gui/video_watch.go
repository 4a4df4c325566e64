package gui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/fourmi-app/fourmi/library"
)

// defaultMaxResolution is the max-resolution setting until the user sets
// it (the library's default too).
const defaultMaxResolution = 1080

// playHint says how to play from the keyboard (Ctrl+Enter anywhere on the
// Video screen, Space when no control has the keyboard).
const playHint = "Ctrl+Enter or Space plays"

// readMaxResolution reads the max-resolution setting (1080 when unset or
// unreadable: choosing a file must not fail over a preference).
func readMaxResolution(ctx context.Context, lib *library.Library) int {
	v, ok, err := lib.Setting(ctx, library.SettingMaxResolution)
	if err != nil || !ok {
		return defaultMaxResolution
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return defaultMaxResolution
	}
	return n
}

// playableResolutions are the video's resolutions (audio-only files
// aside), best first, each once.
func playableResolutions(files []library.VideoFile) []int {
	var out []int
	for _, f := range files {
		if f.Resolution > 0 && !slices.Contains(out, f.Resolution) {
			out = append(out, f.Resolution)
		}
	}
	slices.SortFunc(out, func(a, b int) int { return b - a })
	return out
}

// defaultResolution is the best of res (best first) not above maxRes, or
// the smallest when all are above it; 0 when there is none.
func defaultResolution(res []int, maxRes int) int {
	for _, r := range res {
		if r <= maxRes {
			return r
		}
	}
	if len(res) > 0 {
		return res[len(res)-1]
	}
	return 0
}

// resolutionLabel is "720p · 34 MB" for the picker.
func resolutionLabel(files []library.VideoFile, res int) string {
	var size int64
	for _, f := range files {
		if f.Resolution == res && f.Size > 0 {
			size = f.Size
			break
		}
	}
	label := fmt.Sprintf("%dp", res)
	if size > 0 {
		label += " · " + formatSize(size)
	}
	return label
}

// unplayable says why the video cannot be played, or "".
func (s *videoScreen) unplayable() string {
	v := s.video
	switch {
	case v.IsLive:
		return "Live streams cannot be watched through Fourmi yet: open it in the browser."
	case len(v.Files) == 0 && !v.DetailsAt.IsZero():
		return "This video has no files to play or download."
	}
	return ""
}

// selectedResolution is what Play, Download and Copy stream URL ask for
// (0 lets the library choose, before the files are known).
func (s *videoScreen) selectedResolution() int {
	if s.picked != 0 && (len(s.resolutions) == 0 || slices.Contains(s.resolutions, s.picked)) {
		return s.picked
	}
	return defaultResolution(s.resolutions, s.maxRes)
}

// renderWatch updates the resolution picker and the watch buttons.
func (s *videoScreen) renderWatch() {
	v := s.video
	res := playableResolutions(v.Files)
	if !slices.Equal(res, s.resolutions) {
		s.resolutions = res
		labels := make([]string, len(res))
		for i, r := range res {
			labels[i] = resolutionLabel(v.Files, r)
		}
		s.resPick.SetOptions(labels)
	}
	s.resPick.PlaceHolder = fmt.Sprintf("Best up to %dp", s.maxRes)
	if sel := slices.Index(s.resolutions, s.selectedResolution()); sel >= 0 {
		if s.resPick.SelectedIndex() != sel {
			s.resPick.OnChanged = nil // a choice of the code, not the user's
			s.resPick.SetSelectedIndex(sel)
			s.resPick.OnChanged = s.resolutionPicked
		}
	} else if s.resPick.SelectedIndex() >= 0 {
		s.resPick.ClearSelected()
	}

	why := s.unplayable()
	sess := s.u.sessions[v.UUID]
	playing := sess != nil && !sess.streamOnly()
	starting := s.starting && s.startUUID == v.UUID
	note := playHint
	switch {
	case why != "":
		note = why
	case starting:
		note = "Starting… (adding the torrent, then opening the player)"
	case playing:
		note = ""
	}
	setEnabled(s.play, why == "" && !starting && !playing)
	setEnabled(s.download, why == "")
	setEnabled(s.copyStream, why == "" && !starting)
	if why != "" || len(s.resolutions) == 0 {
		s.resPick.Disable()
	} else {
		s.resPick.Enable()
	}
	setMutedText(s.playNote, note)
	setVisible(s.playNote, note != "")
}

func setEnabled(w interface {
	Enable()
	Disable()
	Disabled() bool
}, on bool) {
	if on && w.Disabled() {
		w.Enable()
	} else if !on && !w.Disabled() {
		w.Disable()
	}
}

func (s *videoScreen) resolutionPicked(string) {
	if i := s.resPick.SelectedIndex(); i >= 0 && i < len(s.resolutions) {
		s.picked = s.resolutions[i]
	}
}

// doPlay is the Play button (and Ctrl+Enter): play at the picked
// resolution from where the user stopped.
func (s *videoScreen) doPlay() { s.startPlay(nil) }

// startPlay plays the video on screen when Play is enabled; from nil
// resumes.
func (s *videoScreen) startPlay(from *time.Duration) {
	if s.play.Disabled() {
		return
	}
	s.launch(from)
}

// resume plays the video just opened from Library (Continue watching,
// History, a transfer) where the user stopped. Its files may not be known
// yet (history rows carry no files): the library finds them, or says why
// it cannot.
func (s *videoScreen) resume() {
	sess := s.u.sessions[s.video.UUID]
	if (s.starting && s.startUUID == s.video.UUID) || (sess != nil && !sess.streamOnly()) {
		return
	}
	s.launch(nil)
}

func (s *videoScreen) launch(from *time.Duration) {
	v := s.video
	req := library.PlayRequest{UUID: v.UUID, Resolution: s.selectedResolution(), From: from}
	s.begin()
	s.u.startSession(v.UUID, v.Name, func(ctx context.Context) (library.Playback, error) {
		return s.u.lib.Play(ctx, req)
	}, func(_ *session, err error) {
		if !s.finish(v.UUID) {
			return
		}
		if err != nil {
			s.u.log.Info("play", "uuid", v.UUID, "resolution", req.Resolution, "err", err)
			s.playFailed(err)
		}
	})
}

// begin marks a start in progress (Play or stream).
func (s *videoScreen) begin() {
	s.banner.Hide()
	s.starting, s.startUUID = true, s.video.UUID
	s.renderWatch()
	s.relayout()
}

// finish ends the start in progress; it says whether uuid still shows.
func (s *videoScreen) finish(uuid string) bool {
	if s.startUUID == uuid {
		s.starting = false
	}
	if s.video.UUID != uuid {
		return false
	}
	s.renderWatch()
	s.relayout()
	return true
}

func (s *videoScreen) playFailed(err error) {
	if isNoPlayer(err) {
		s.banner.Show("No video player found: install mpv (or VLC). You can still copy the stream URL into another player.",
			"Copy stream URL", s.doCopyStream)
	} else {
		s.banner.Show("Could not play: "+errorText(err), "Retry", s.doPlay)
	}
	s.relayout()
}

// doCopyStream puts a loopback stream URL of the video in the clipboard,
// for another player: the running playback's, or a new stream.
func (s *videoScreen) doCopyStream() {
	v := s.video
	if sess := s.u.sessions[v.UUID]; sess != nil && !sess.ended {
		s.u.app.Clipboard().SetContent(sess.pb.StreamURL())
		s.setNotice("Stream URL copied")
		return
	}
	if s.copyStream.Disabled() {
		return
	}
	res := s.selectedResolution()
	s.begin()
	s.u.startSession(v.UUID, v.Name, func(ctx context.Context) (library.Playback, error) {
		return s.u.lib.Stream(ctx, v.UUID, res)
	}, func(sess *session, err error) {
		if err == nil {
			// the clipboard gets it even if the user moved on: they asked
			s.u.app.Clipboard().SetContent(sess.pb.StreamURL())
		}
		if !s.finish(v.UUID) {
			return
		}
		if err != nil {
			s.u.log.Info("stream", "uuid", v.UUID, "err", err)
			s.banner.Show("Could not start the stream: "+errorText(err), "Retry", s.doCopyStream)
			s.relayout()
			return
		}
		s.setNotice("Stream URL copied: paste it into your player")
	})
}

// doDownload adds the video's torrent without playing it.
func (s *videoScreen) doDownload() {
	v := s.video
	res := s.selectedResolution()
	s.download.Disable()
	s.u.goRun(func(ctx context.Context) {
		t, err := s.u.lib.Download(ctx, v.UUID, res)
		s.u.do(func() {
			if s.video.UUID != v.UUID {
				return
			}
			s.renderWatch()
			if err != nil {
				s.u.log.Info("download", "uuid", v.UUID, "err", err)
				s.banner.Show("Could not download: "+errorText(err), "Retry", s.doDownload)
				s.relayout()
				return
			}
			what := "Downloading"
			if t.Resolution > 0 {
				what += fmt.Sprintf(" %dp", t.Resolution)
			}
			s.setNotice(what + " — see Library")
			s.u.library.changed()
		})
	})
}

// doStop is the stats panel's Stop.
func (s *videoScreen) doStop() {
	if sess := s.u.sessions[s.video.UUID]; sess != nil {
		s.u.stopSession(sess)
	}
}

// showSession shows the stats panel when the video on screen plays.
func (s *videoScreen) showSession() {
	sess := s.u.sessions[s.video.UUID]
	was := s.panel.root.Visible()
	if sess != nil {
		s.panel.show(sess)
	}
	setVisible(s.panel.root, sess != nil)
	s.renderWatch()
	if was != (sess != nil) {
		s.relayout()
	}
}

// sessionChanged updates the panel with a session's new numbers.
func (s *videoScreen) sessionChanged(sess *session) {
	if sess.key == s.video.UUID {
		s.showSession()
	}
}

// sessionEnded hides the panel and says how the playback ended.
func (s *videoScreen) sessionEnded(sess *session, err error) {
	if sess.key != s.video.UUID {
		return
	}
	s.showSession()
	switch {
	case sess.replaced:
	case err != nil:
		s.banner.Show("The player stopped: "+errorText(err), "Play again", s.doPlay)
		s.relayout()
	case sess.streamOnly():
		s.setNotice("Stream stopped — Fourmi keeps seeding this video")
	case sess.pos > 0:
		s.setNotice("Stopped at " + formatDuration(sess.pos) + " — Fourmi keeps seeding this video")
	default:
		s.setNotice("Player closed — Fourmi keeps seeding this video")
	}
}
