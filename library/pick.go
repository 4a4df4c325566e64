package library

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// DefaultMaxResolution is the SettingMaxResolution until the user sets it.
const DefaultMaxResolution = 1080

// maxResolution reads SettingMaxResolution ("1080" or "1080p").
func (l *Library) maxResolution(ctx context.Context) int {
	v, ok, err := l.Setting(ctx, SettingMaxResolution)
	if err != nil || !ok || v == "" {
		return DefaultMaxResolution
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), "p"))
	if err != nil || n <= 0 {
		l.log.Warn("ignoring a bad maximum resolution setting", "value", v)
		return DefaultMaxResolution
	}
	return n
}

// pickFile chooses the file to watch: the one of resolution want when asked
// and present; otherwise the best at most maxRes; otherwise the smallest
// above it. Audio-only files are chosen only for a video that has nothing
// else, files without a torrent or magnet only when no file has one (the
// caller then reports it). At equal resolution the origin's order decides:
// PeerTube's web videos (faststart MP4) and its HLS fragmented MP4s (an
// index up front) both stream and seek well through a torrent.
func pickFile(files []VideoFile, want, maxRes int) (VideoFile, error) {
	if len(files) == 0 {
		return VideoFile{}, fmt.Errorf("no playable file")
	}
	usable := func(f VideoFile) bool { return f.TorrentURL != "" || f.MagnetURI != "" }
	var cands []VideoFile
	for _, pass := range []func(VideoFile) bool{
		func(f VideoFile) bool { return usable(f) && f.Resolution > 0 },
		usable,
		func(VideoFile) bool { return true },
	} {
		for _, f := range files {
			if pass(f) {
				cands = append(cands, f)
			}
		}
		if len(cands) > 0 {
			break
		}
	}
	if want > 0 {
		for _, f := range cands {
			if f.Resolution == want {
				return f, nil
			}
		}
	}
	best, found := VideoFile{}, false
	for _, f := range cands {
		if f.Resolution <= maxRes && (!found || f.Resolution > best.Resolution) {
			best, found = f, true
		}
	}
	if found {
		return best, nil
	}
	for _, f := range cands {
		if !found || f.Resolution < best.Resolution {
			best, found = f, true
		}
	}
	return best, nil
}

// videoFile returns a video (its details fetched when the cache has no
// files) and the file to watch at resolution (0: SettingMaxResolution).
func (l *Library) videoFile(ctx context.Context, uuid string, resolution int) (Video, VideoFile, error) {
	v, err := l.Video(ctx, uuid)
	if err != nil {
		return Video{}, VideoFile{}, err
	}
	if len(v.Files) == 0 {
		if v, err = l.FetchVideo(ctx, uuid); err != nil {
			return Video{}, VideoFile{}, err
		}
	}
	if v.IsLive {
		return Video{}, VideoFile{}, fmt.Errorf("library: %q is a live stream: live streams cannot be watched over BitTorrent", v.Name)
	}
	f, err := pickFile(v.Files, resolution, l.maxResolution(ctx))
	if err != nil {
		return Video{}, VideoFile{}, fmt.Errorf("library: %q: %w", v.Name, err)
	}
	return v, f, nil
}
