package peer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// AddMagnet adds a torrent from a magnet URI. PeerTube's magnets carry the
// .torrent URL in xs and the file URL in ws: the .torrent is fetched from
// xs when present (its info-hash must match xt) so the torrent starts with
// its metadata; otherwise the metadata comes from peers (BEP 9) and is
// validated when it arrives — a torrent whose metadata fails validation is
// dropped and reports the error in Stats.Err and WaitInfo. ws URLs become
// web seeds, tr URLs trackers, x.pe addresses peers.
func (e *Engine) AddMagnet(ctx context.Context, uri string) (InfoHash, error) {
	m, err := metainfo.ParseMagnetUri(uri)
	if err != nil {
		return InfoHash{}, fmt.Errorf("peer: magnet: %w", err)
	}
	ih := fromMI(m.InfoHash)
	if ih.IsZero() {
		return InfoHash{}, errors.New("peer: magnet has no BitTorrent v1 info-hash (xt=urn:btih:)")
	}
	var webSeeds []string
	for _, ws := range m.Params["ws"] {
		if isHTTPURL(ws) {
			webSeeds = append(webSeeds, ws)
		}
	}
	var fetchErrs []error
	for _, xs := range m.Params["xs"] {
		if !isHTTPURL(xs) {
			continue
		}
		data, err := e.fetchTorrent(ctx, xs)
		if err == nil {
			var p *parsedTorrent
			if p, err = parseTorrent(data); err == nil && p.infoHash != ih {
				err = fmt.Errorf("%s has info-hash %v, the magnet says %v", xs, p.infoHash, ih)
			}
			if err == nil {
				e.mu.Lock()
				defer e.mu.Unlock()
				if err := e.addParsedLocked(p, webSeeds); err != nil {
					return ih, err
				}
				e.addTrackersLocked(e.torrents[ih], [][]string{m.Trackers})
				e.addPeersLocked(e.torrents[ih], m.Params["x.pe"])
				return ih, nil
			}
		}
		if ctx.Err() != nil {
			return InfoHash{}, ctx.Err()
		}
		fetchErrs = append(fetchErrs, err)
	}
	if len(fetchErrs) > 0 {
		e.log.Warn("magnet: no usable .torrent from xs, waiting for metadata from peers", "infohash", ih, "err", errors.Join(fetchErrs...))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.usableLocked(); err != nil {
		return InfoHash{}, err
	}
	h := e.torrents[ih]
	if h == nil {
		if _, err := os.Stat(filepath.Join(e.dataDir(), ih.String())); errors.Is(err, os.ErrNotExist) {
			e.completion.markFresh(ih)
		}
		t, _ := e.cl.AddTorrentOpt(torrent.AddTorrentOpts{InfoHash: ih.mi()})
		if m.DisplayName != "" {
			t.SetDisplayName(m.DisplayName)
		}
		h = e.newHandle(ih, t)
		e.torrents[ih] = h
		e.wg.Go(func() { e.awaitInfo(h) })
	}
	e.addTrackersLocked(h, [][]string{m.Trackers})
	for _, ws := range webSeeds {
		e.addWebSeedLocked(h, ws)
	}
	e.addPeersLocked(h, m.Params["x.pe"])
	return ih, nil
}

// awaitInfo validates metadata that arrived from peers, then caches it and
// starts the download, or drops the torrent.
func (e *Engine) awaitInfo(h *handle) {
	select {
	case <-h.t.GotInfo():
	case <-h.t.Closed():
		return
	case <-e.ctx.Done():
		return
	}
	mi := h.t.Metainfo()
	info, err := decodeInfo(mi.InfoBytes)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != stateStarted || e.torrents[h.ih] != h {
		return
	}
	if h.infoBytes != nil {
		return // a .torrent for it was added meanwhile
	}
	if err != nil {
		e.log.Error("metadata from peers refused; torrent dropped", "infohash", h.ih, "err", err)
		h.setReady(nil, err)
		dropTorrent(e.cl, h.t)
		return
	}
	h.setReady(mi.InfoBytes, nil)
	e.onInfoLocked(h, &info)
}
