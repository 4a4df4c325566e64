package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/anacrolix/torrent/metainfo"
)

func (e *Engine) cachePath(ih InfoHash) string {
	return filepath.Join(e.torrentsDir(), ih.String()+".torrent")
}

// writeCacheLocked saves the torrent's metainfo — info, trackers and the web
// seeds still in use — so a restart re-adds it and seeds at once.
func (e *Engine) writeCacheLocked(h *handle) error {
	return e.saveCacheLocked(h, true)
}

// writeCacheSoonLocked is writeCacheLocked for adding a torrent, where the
// file's fsync (milliseconds to tens of them on a busy disk) would delay
// the first bytes of a stream: the file is in place at once and synced in
// the background.
func (e *Engine) writeCacheSoonLocked(h *handle) error {
	if err := e.saveCacheLocked(h, false); err != nil {
		return err
	}
	path := e.cachePath(h.ih)
	e.wg.Go(func() {
		if err := syncFile(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			e.log.Warn("syncing cached metainfo", "path", path, "err", err)
		}
	})
	return nil
}

func (e *Engine) saveCacheLocked(h *handle, sync bool) error {
	if h.infoBytes == nil {
		return nil
	}
	mi := metainfo.MetaInfo{InfoBytes: h.infoBytes, AnnounceList: h.trackers, CreatedBy: "Fourmi"}
	for _, ws := range h.webSeeds {
		if ws.dropped == "" {
			mi.UrlList = append(mi.UrlList, ws.url)
		}
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		return err
	}
	return writeFileAtomic(e.cachePath(h.ih), buf.Bytes(), sync)
}

// writeFileAtomic replaces path with data (readers see the old or the new
// content, never part); with sync, the data is on disk before the rename.
func writeFileAtomic(path string, data []byte, sync bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// resumeLocked re-adds every cached torrent. A cache file that does not
// validate is logged and left where it is.
func (e *Engine) resumeLocked(ctx context.Context) {
	entries, err := os.ReadDir(e.torrentsDir())
	if err != nil {
		e.log.Error("reading the metainfo cache", "err", err)
		return
	}
	n := 0
	for _, de := range entries {
		name := de.Name()
		if ctx.Err() != nil {
			return
		}
		if de.IsDir() || !strings.HasSuffix(name, ".torrent") {
			continue
		}
		path := filepath.Join(e.torrentsDir(), name)
		data, err := os.ReadFile(path)
		var p *parsedTorrent
		if err == nil {
			p, err = parseTorrent(data)
		}
		if err == nil && p.infoHash.String()+".torrent" != name {
			err = fmt.Errorf("file name does not match its info-hash %v", p.infoHash)
		}
		if err == nil {
			err = e.addParsedLocked(p, nil)
		}
		if err != nil {
			e.log.Error("cached torrent not resumed", "file", path, "err", err)
			continue
		}
		n++
	}
	if n > 0 {
		e.log.Info("resumed cached torrents", "count", n)
	}
}
