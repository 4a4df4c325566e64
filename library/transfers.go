package library

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/peer"
)

// active reports whether a transfer in this state belongs in the engine.
func (s TransferState) active() bool {
	return s == StateFetchingInfo || s == StateDownloading || s == StateSeeding
}

// transferRow is one row of the transfers table.
type transferRow struct {
	infoHash                      string
	videoUUID                     string
	resolution                    int
	name                          string
	size                          int64
	torrentURL, magnet, webSeed   string
	metainfo                      []byte
	state                         TransferState
	keepSeeding                   bool
	addedAt, completedAt, watched time.Time
	completed                     int64
	uploaded                      int64
	fromWebSeed, fromPeers        int64
	err                           string
	thumbnail                     string
}

// source is where the torrent can be had again.
func (r transferRow) source() torrentSource {
	return torrentSource{want: r.infoHash, metainfo: r.metainfo, torrentURL: r.torrentURL, magnet: r.magnet, webSeed: r.webSeed}
}

const transferCols = `t.infohash, coalesce(t.video_uuid, ''), t.resolution, t.name, t.size, t.torrent_url, t.magnet_uri,
	t.web_seed_url, t.metainfo, t.state, t.keep_seeding, t.added_at, t.completed_at, t.last_watched_at, t.completed,
	t.uploaded, t.from_web_seed, t.from_peers, t.error, coalesce(v.thumbnail_url, '')`

// transferRows reads the transfers (one when ih is set), downloading first,
// then seeding, then the rest, newest first within each group.
func (l *Library) transferRows(ctx context.Context, ih string) ([]transferRow, error) {
	q := `SELECT ` + transferCols + ` FROM transfers t LEFT JOIN videos v ON v.uuid = t.video_uuid`
	var args []any
	if ih != "" {
		q += " WHERE t.infohash = ?"
		args = append(args, ih)
	}
	q += ` ORDER BY CASE t.state WHEN 'fetching-info' THEN 0 WHEN 'downloading' THEN 0 WHEN 'seeding' THEN 1 ELSE 2 END,
		t.added_at DESC, t.infohash`
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []transferRow
	for rows.Next() {
		var r transferRow
		var state string
		var added, completedAt, watched int64
		if err := rows.Scan(&r.infoHash, &r.videoUUID, &r.resolution, &r.name, &r.size, &r.torrentURL, &r.magnet,
			&r.webSeed, &r.metainfo, &state, &r.keepSeeding, &added, &completedAt, &watched, &r.completed,
			&r.uploaded, &r.fromWebSeed, &r.fromPeers, &r.err, &r.thumbnail); err != nil {
			return nil, err
		}
		r.state = TransferState(state)
		r.addedAt, r.completedAt, r.watched = fromMS(added), fromMS(completedAt), fromMS(watched)
		out = append(out, r)
	}
	return out, rows.Err()
}

// stateGroup orders the transfers list: downloading, seeding, the rest.
func stateGroup(s TransferState) int {
	switch s {
	case StateFetchingInfo, StateDownloading:
		return 0
	case StateSeeding:
		return 1
	}
	return 2
}

// transferRow reads one transfer; ErrNotFound if unknown.
func (l *Library) transferRow(ctx context.Context, ih string) (transferRow, error) {
	rows, err := l.transferRows(ctx, ih)
	if err != nil {
		return transferRow{}, err
	}
	if len(rows) == 0 {
		return transferRow{}, fmt.Errorf("transfer %s: %w", ih, ErrNotFound)
	}
	return rows[0], nil
}

// normInfoHash checks a hex info-hash and lower-cases it.
func normInfoHash(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if _, err := peer.ParseInfoHash(s); err != nil {
		return "", fmt.Errorf("library: %q is not an info-hash (40 hex digits)", s)
	}
	return s, nil
}

// transfer turns a row into a Transfer with live stats when the torrent is
// in the engine.
func (l *Library) transfer(r transferRow) Transfer {
	t := Transfer{
		InfoHash: r.infoHash, Name: r.name, VideoUUID: r.videoUUID, Resolution: r.resolution,
		ThumbnailURL: r.thumbnail, State: r.state, AddedAt: r.addedAt, CompletedAt: r.completedAt,
		LastWatchedAt: r.watched,
		Stats: TransferStats{Size: r.size, Completed: r.completed, Uploaded: r.uploaded,
			FromWebSeed: r.fromWebSeed, FromPeers: r.fromPeers, Error: r.err},
	}
	if !r.state.active() {
		return t
	}
	e, err := l.engine()
	if err != nil {
		return t
	}
	h, err := peer.ParseInfoHash(r.infoHash)
	if err != nil {
		return t
	}
	st, err := e.Stats(h)
	if err != nil {
		return t
	}
	base := l.watch.peekBase(r)
	t.State, t.Stats.Completed = liveState(st)
	if t.State == StateSeeding && t.CompletedAt.IsZero() {
		t.CompletedAt = l.now()
	}
	if st.HasInfo {
		t.Stats.Size = st.Length
	}
	if t.Name == "" {
		t.Name = st.Name
	}
	t.Stats.DownloadRate, t.Stats.UploadRate = st.DownloadRate, st.UploadRate
	t.Stats.Peers, t.Stats.Seeders = st.Peers, st.Seeders
	t.Stats.FromWebSeed = base.fromWebSeed + st.BytesFromWebSeeds
	t.Stats.FromPeers = base.fromPeers + st.BytesFromPeers
	t.Stats.Uploaded = base.uploaded + st.BytesUploaded
	t.Stats.Pieces = st.Pieces
	t.Stats.Error = st.Err
	if st.StorageErr != "" { // e.g. a full disk: paused, retried, verified pieces kept
		t.Stats.Error = st.StorageErr
	}
	return t
}

// Transfers lists the torrents, downloading first, then seeding, then the rest.
func (l *Library) Transfers(ctx context.Context) ([]Transfer, error) {
	rows, err := l.transferRows(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("library: listing transfers: %w", err)
	}
	out := make([]Transfer, len(rows))
	for i, r := range rows {
		out[i] = l.transfer(r)
	}
	// The stored states lag the engine by up to a manager tick: order by
	// the live ones.
	slices.SortStableFunc(out, func(a, b Transfer) int { return cmp.Compare(stateGroup(a.State), stateGroup(b.State)) })
	return out, nil
}

// TransferByHash returns one transfer with fresh stats.
func (l *Library) TransferByHash(ctx context.Context, infoHash string) (Transfer, error) {
	ih, err := normInfoHash(infoHash)
	if err != nil {
		return Transfer{}, err
	}
	r, err := l.transferRow(ctx, ih)
	if err != nil {
		return Transfer{}, fmt.Errorf("library: %w", err)
	}
	return l.transfer(r), nil
}

// TransferPath is the file on disk of a complete transfer (its largest file).
func (l *Library) TransferPath(ctx context.Context, infoHash string) (string, error) {
	t, err := l.TransferByHash(ctx, infoHash)
	if err != nil {
		return "", err
	}
	if t.Stats.Size == 0 || t.Stats.Completed < t.Stats.Size {
		return "", fmt.Errorf("library: %s is not complete yet (%.0f%%)", t.Name, 100*t.Stats.Progress())
	}
	return l.filePath(ctx, t.InfoHash)
}

// filePath is where the largest file of a transfer is (or will be) on disk.
func (l *Library) filePath(ctx context.Context, ih string) (string, error) {
	if e, err := l.engine(); err == nil {
		h, _ := peer.ParseInfoHash(ih)
		if files, err := e.Files(h); err == nil {
			return e.FilePath(h, largestFile(files))
		}
	}
	// Not in the engine (paused, finished, or before Start): the engine's
	// documented layout is <DataDir>/data/<infohash>/<name> for a
	// single-file torrent and …/<name>/<path> for the files of a multi-file one.
	r, err := l.transferRow(ctx, ih)
	if err != nil {
		return "", fmt.Errorf("library: %w", err)
	}
	if r.metainfo == nil {
		return "", fmt.Errorf("library: %s: its metadata is not known yet", r.name)
	}
	info, err := peer.ParseTorrent(r.metainfo)
	if err != nil {
		return "", fmt.Errorf("library: %s: %w", r.name, err)
	}
	p := filepath.FromSlash(info.Files[largestFile(info.Files)].Path)
	if len(info.Files) > 1 || p != info.Name {
		p = filepath.Join(info.Name, p)
	}
	return filepath.Join(l.watch.peerDir, "data", ih, p), nil
}

// largestFile is the index of the biggest file (the video in a torrent
// that also carries subtitles or artwork).
func largestFile(files []peer.FileInfo) int {
	best := 0
	for i, f := range files {
		if f.Length > files[best].Length {
			best = i
		}
	}
	return best
}

// cachedMetainfo reads the engine's metainfo cache for a torrent (the
// documented <DataDir>/torrents/<infohash>.torrent), to keep a copy that
// resumes the transfer when the engine no longer has it.
func (l *Library) cachedMetainfo(ih string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(l.watch.peerDir, "torrents", ih+".torrent"))
	if err != nil {
		return nil, err
	}
	if _, err := peer.ParseTorrent(b); err != nil {
		return nil, err
	}
	return b, nil
}

// torrentSource says where a torrent can be had, best first.
type torrentSource struct {
	want       string // the info-hash expected, when known (else the magnet's)
	metainfo   []byte // a .torrent already known
	torrentURL string
	magnet     string
	webSeed    string // PeerTube's fileUrl
}

// addTorrent adds a torrent to the engine from the first source that works
// and returns its info-hash and .torrent (nil for a magnet still fetching
// its metadata).
func (l *Library) addTorrent(ctx context.Context, src torrentSource) (string, []byte, error) {
	e, err := l.engine()
	if err != nil {
		return "", nil, err
	}
	want := src.want
	if want == "" {
		want = magnetInfoHash(src.magnet)
	}
	// add adds .torrent bytes that are the expected torrent.
	add := func(data []byte) (peer.InfoHash, error) {
		if want != "" {
			info, err := peer.ParseTorrent(data)
			if err != nil {
				return peer.InfoHash{}, err
			}
			if got := info.InfoHash.String(); got != want {
				return peer.InfoHash{}, fmt.Errorf("the torrent has info-hash %s, expected %s", got, want)
			}
		}
		return e.AddTorrent(data)
	}
	var errs []error
	var h peer.InfoHash
	data := src.metainfo
	added := false
	if data != nil {
		if h, err = add(data); err == nil {
			added = true
		} else {
			errs = append(errs, fmt.Errorf("stored torrent: %w", err))
		}
	}
	if !added && src.torrentURL != "" {
		if data, err = l.fetchTorrent(ctx, src.torrentURL); err == nil {
			h, err = add(data)
		}
		if err == nil {
			added = true
		} else {
			errs = append(errs, err)
		}
	}
	if !added && src.magnet != "" {
		data = nil
		if h, err = e.AddMagnet(ctx, src.magnet); err == nil {
			added = true
		} else {
			errs = append(errs, err)
		}
	}
	if !added {
		if len(errs) == 0 {
			return "", nil, errors.New("no torrent URL and no magnet link")
		}
		return "", nil, errors.Join(errs...)
	}
	if src.webSeed != "" {
		if err := e.AddWebSeed(h, src.webSeed); err != nil {
			l.log.Warn("web seed not added", "infohash", h, "url", src.webSeed, "err", err)
		}
	}
	return h.String(), data, nil
}

// fetchTorrent downloads a .torrent and checks it is one.
func (l *Library) fetchTorrent(ctx context.Context, torrentURL string) ([]byte, error) {
	u, err := url.Parse(torrentURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("torrent URL %q is not an http(s) URL", torrentURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, torrentURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/x-bittorrent")
	resp, err := l.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the torrent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the torrent %s: HTTP %s", torrentURL, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, peer.MaxMetainfoSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetching the torrent %s: %w", torrentURL, err)
	}
	if len(data) > peer.MaxMetainfoSize {
		return nil, fmt.Errorf("%s is not a torrent: larger than %d bytes", torrentURL, peer.MaxMetainfoSize)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "text/html" || bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")) {
		return nil, fmt.Errorf("%s answered with a web page, not a .torrent", torrentURL)
	}
	if _, err := peer.ParseTorrent(data); err != nil {
		return nil, fmt.Errorf("%s is not a usable .torrent: %w", torrentURL, err)
	}
	return data, nil
}

// magnetInfoHash is the hex BitTorrent v1 info-hash of a magnet ("" if none).
func magnetInfoHash(magnet string) string {
	rest, ok := strings.CutPrefix(magnet, "magnet:?")
	if !ok {
		return ""
	}
	q, err := url.ParseQuery(rest)
	if err != nil {
		return ""
	}
	for _, xt := range q["xt"] {
		v, ok := strings.CutPrefix(strings.ToLower(xt), "urn:btih:")
		if !ok {
			continue
		}
		switch len(v) {
		case 40:
			if _, err := hex.DecodeString(v); err == nil {
				return v
			}
		case 32:
			if b, err := base32.StdEncoding.DecodeString(strings.ToUpper(v)); err == nil {
				return hex.EncodeToString(b)
			}
		}
	}
	return ""
}

// newTransfer describes a transfer being added.
type newTransfer struct {
	videoUUID  string
	resolution int
	name       string
	size       int64
	src        torrentSource  // how to add it now
	keep       *torrentSource // what to record to resume it later; nil: src
}

// startTransfer adds a torrent to the engine and records it. A transfer the
// user paused, or that finished, becomes active again.
func (l *Library) startTransfer(ctx context.Context, nt newTransfer) (string, error) {
	ih, data, err := l.addTorrent(ctx, nt.src)
	if err != nil {
		return "", err
	}
	e, err := l.engine()
	if err != nil {
		return "", err
	}
	h, _ := peer.ParseInfoHash(ih)
	st, err := e.Stats(h)
	if err != nil {
		return "", err
	}
	state, completed := liveState(st)
	name, size := engineNameSize(nt.name, nt.size, st)
	keep := nt.src
	if nt.keep != nil {
		keep = *nt.keep
	}
	now := ms(l.now())
	completedAt := int64(0)
	if state == StateSeeding {
		completedAt = now
	}
	var video any
	if nt.videoUUID != "" {
		video = nt.videoUUID
	}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		if video == nil {
			// A bare magnet or .torrent of a video in the catalog is that video.
			var u string
			err := tx.QueryRowContext(ctx, `SELECT v.uuid FROM video_files f JOIN videos v ON v.id = f.video_id
				WHERE f.magnet_uri LIKE ? LIMIT 1`, "%btih:"+ih+"%").Scan(&u)
			if err == nil {
				video = u
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO transfers (infohash, video_uuid, resolution, name, size, torrent_url,
			magnet_uri, web_seed_url, metainfo, state, added_at, completed_at, completed)
			VALUES (?, (SELECT uuid FROM videos WHERE uuid = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (infohash) DO UPDATE SET
				video_uuid = coalesce(excluded.video_uuid, transfers.video_uuid),
				resolution = CASE WHEN excluded.resolution > 0 THEN excluded.resolution ELSE transfers.resolution END,
				name = CASE WHEN transfers.video_uuid IS NULL AND excluded.video_uuid IS NOT NULL OR transfers.name = ''
					THEN excluded.name ELSE transfers.name END,
				size = CASE WHEN excluded.size > 0 THEN excluded.size ELSE transfers.size END,
				torrent_url = CASE WHEN excluded.torrent_url <> '' THEN excluded.torrent_url ELSE transfers.torrent_url END,
				magnet_uri = CASE WHEN excluded.magnet_uri <> '' THEN excluded.magnet_uri ELSE transfers.magnet_uri END,
				web_seed_url = CASE WHEN excluded.web_seed_url <> '' THEN excluded.web_seed_url ELSE transfers.web_seed_url END,
				metainfo = coalesce(transfers.metainfo, excluded.metainfo),
				keep_seeding = CASE WHEN transfers.state = 'finished' THEN 1 ELSE transfers.keep_seeding END,
				state = excluded.state,
				completed_at = CASE WHEN transfers.completed_at > 0 THEN transfers.completed_at ELSE excluded.completed_at END,
				completed = max(transfers.completed, excluded.completed),
				error = ''`,
			ih, video, nt.resolution, name, size, keep.torrentURL, keep.magnet, keep.webSeed, data,
			string(state), now, completedAt, completed)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("library: recording transfer %s: %w", ih, err)
	}
	return ih, nil
}

// markError records why a transfer could not be resumed.
func (l *Library) markError(ctx context.Context, ih string, cause error) {
	l.log.Error("transfer failed", "infohash", ih, "err", cause)
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE transfers SET state = 'error', error = ? WHERE infohash = ?", cause.Error(), ih)
		return err
	})
	if err != nil {
		l.log.Error("recording a transfer error", "infohash", ih, "err", err)
	}
}

// setState stores a transfer's state.
func (l *Library) setState(ctx context.Context, ih string, state TransferState) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE transfers SET state = ? WHERE infohash = ?", string(state), ih)
		return err
	})
}

// PauseTransfer stops downloading and seeding a torrent (kept on disk). A
// playback of it is stopped.
func (l *Library) PauseTransfer(ctx context.Context, infoHash string) error {
	ih, err := normInfoHash(infoHash)
	if err != nil {
		return err
	}
	if _, err := l.engine(); err != nil {
		return err
	}
	l.stopPlaybacks(ih)
	w := &l.watch
	w.op.Lock()
	defer w.op.Unlock()
	r, err := l.transferRow(ctx, ih)
	if err != nil {
		return fmt.Errorf("library: %w", err)
	}
	if r.state == StatePaused {
		// Paused by Pause seeding, now by the user too: ResumeSeeding
		// leaves it paused.
		if err := l.inTx(ctx, func(tx *sql.Tx) error { return l.unholdTx(ctx, tx, ih) }); err != nil {
			return fmt.Errorf("library: pausing %s: %w", r.name, err)
		}
		return nil
	}
	if err := l.keepMetainfo(ctx, r); err != nil {
		return fmt.Errorf("library: pausing %s: %w", r.name, err)
	}
	if err := l.saveLiveTotals(ctx, r); err != nil {
		return fmt.Errorf("library: pausing %s: %w", r.name, err)
	}
	if err := l.setState(ctx, ih, StatePaused); err != nil {
		return fmt.Errorf("library: pausing %s: %w", r.name, err)
	}
	l.takeOut(ih)
	l.log.Info("transfer paused", "infohash", ih, "name", r.name)
	return nil
}

// keepMetainfo makes sure the .torrent is stored before the engine forgets
// it (its metainfo cache goes with it). Called with op held.
func (l *Library) keepMetainfo(ctx context.Context, r transferRow) error {
	if r.metainfo != nil {
		return nil
	}
	b, err := l.cachedMetainfo(r.infoHash)
	if err != nil {
		if r.torrentURL != "" || r.magnet != "" {
			return nil // it can be had again from the network
		}
		return fmt.Errorf("its metadata is not known yet: %w", err)
	}
	return l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE transfers SET metainfo = ? WHERE infohash = ?", b, r.infoHash)
		return err
	})
}

// saveLiveTotals stores one torrent's totals before it leaves the engine.
// Called with op held.
func (l *Library) saveLiveTotals(ctx context.Context, r transferRow) error {
	ups := l.observe([]transferRow{r})
	if len(ups) == 0 {
		return nil
	}
	return l.storeTotals(ctx, ups)
}

// ResumeTransfer undoes PauseTransfer (and lets a finished one seed again:
// the ratio and time limits no longer stop it; the disk budget still applies).
// While seeding is paused, a complete transfer is not resumed
// (ErrSeedingPaused); an incomplete one downloads.
func (l *Library) ResumeTransfer(ctx context.Context, infoHash string) error {
	ih, err := normInfoHash(infoHash)
	if err != nil {
		return err
	}
	if _, err := l.engine(); err != nil {
		return err
	}
	r, err := l.transferRow(ctx, ih)
	if err != nil {
		return fmt.Errorf("library: %w", err)
	}
	if r.state.active() {
		return nil
	}
	if r.size > 0 && r.completed >= r.size {
		if paused, err := l.SeedingPaused(ctx); err != nil {
			return err
		} else if paused {
			return fmt.Errorf("%w: %s stays paused", ErrSeedingPaused, r.name)
		}
	}
	_, err = l.startTransfer(ctx, newTransfer{videoUUID: r.videoUUID, resolution: r.resolution, name: r.name,
		size: r.size, src: r.source()})
	if err != nil {
		return fmt.Errorf("library: resuming %s: %w", r.name, err)
	}
	l.log.Info("transfer resumed", "infohash", ih, "name", r.name)
	return nil
}

// RemoveTransfer drops a torrent; deleteData also removes its files. A
// playback of it is stopped. Its history stays.
func (l *Library) RemoveTransfer(ctx context.Context, infoHash string, deleteData bool) error {
	ih, err := normInfoHash(infoHash)
	if err != nil {
		return err
	}
	if _, err := l.engine(); err != nil {
		return err
	}
	if _, err := l.transferRow(ctx, ih); err != nil {
		return fmt.Errorf("library: %w", err)
	}
	l.stopPlaybacks(ih)
	l.watch.op.Lock()
	defer l.watch.op.Unlock()
	if err := l.removeLocked(ctx, ih, deleteData); err != nil {
		return fmt.Errorf("library: removing %s: %w", ih, err)
	}
	return nil
}

// removeLocked takes a torrent out of the engine, deletes its files when
// asked, and forgets it. Called with op held.
func (l *Library) removeLocked(ctx context.Context, ih string, deleteData bool) error {
	r, err := l.transferRow(ctx, ih)
	if err != nil {
		return err
	}
	e := l.watch.engine
	h, _ := peer.ParseInfoHash(ih)
	err = e.Remove(h, deleteData)
	if errors.Is(err, peer.ErrUnknownTorrent) {
		err = nil
		if deleteData {
			// Not in the engine (paused or finished): add it back so the
			// engine also forgets its piece completion, then delete.
			if r.metainfo != nil {
				if _, aerr := e.AddTorrent(r.metainfo); aerr == nil {
					err = e.Remove(h, true)
				}
			}
			if rmErr := os.RemoveAll(filepath.Join(l.watch.peerDir, "data", ih)); rmErr != nil && err == nil {
				err = rmErr
			}
		}
	}
	if err != nil {
		return err
	}
	l.watch.forgetBase(ih)
	if err := l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM transfers WHERE infohash = ?", ih)
		return err
	}); err != nil {
		return err
	}
	l.log.Info("transfer removed", "infohash", ih, "name", r.name, "data_deleted", deleteData)
	return nil
}

// Download adds a video's torrent without playing it (resolution as in
// PlayRequest). A complete transfer of that file is returned as it is.
func (l *Library) Download(ctx context.Context, uuid string, resolution int) (Transfer, error) {
	if _, err := l.engine(); err != nil {
		return Transfer{}, err
	}
	v, f, err := l.videoFile(ctx, uuid, resolution)
	if err != nil {
		return Transfer{}, err
	}
	ih, _, err := l.transferOf(ctx, v, f)
	if err != nil {
		return Transfer{}, err
	}
	return l.TransferByHash(ctx, ih)
}

// transferOf finds or starts the transfer of a video file. A paused or
// finished one that is complete on disk is left as it is (local reports
// so: it plays from the file); otherwise it is (re)started.
func (l *Library) transferOf(ctx context.Context, v Video, f VideoFile) (ih string, local bool, err error) {
	if f.TorrentURL == "" && f.MagnetURI == "" {
		return "", false, fmt.Errorf("library: %q (%s) has no torrent URL and no magnet link: it cannot be fetched over BitTorrent",
			v.Name, resolutionLabel(f))
	}
	var known string
	err = l.db.QueryRowContext(ctx, `SELECT infohash FROM transfers WHERE video_uuid = ? AND
		((torrent_url <> '' AND torrent_url = ?) OR (magnet_uri <> '' AND magnet_uri = ?) OR infohash = ?)`,
		v.UUID, f.TorrentURL, f.MagnetURI, magnetInfoHash(f.MagnetURI)).Scan(&known)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", false, fmt.Errorf("library: %w", err)
	}
	src := torrentSource{torrentURL: f.TorrentURL, magnet: f.MagnetURI, webSeed: f.FileURL}
	if known != "" {
		r, err := l.transferRow(ctx, known)
		if err == nil && !r.state.active() && r.size > 0 && r.completed >= r.size {
			return known, true, nil
		}
		if err == nil {
			src.want, src.metainfo = known, r.metainfo // no need to fetch the .torrent again
		}
	}
	ih, err = l.startTransfer(ctx, newTransfer{videoUUID: v.UUID, resolution: f.Resolution, name: v.Name, size: f.Size, src: src})
	if err != nil {
		return "", false, fmt.Errorf("library: cannot get %q (%s): %w", v.Name, resolutionLabel(f), err)
	}
	return ih, false, nil
}

func resolutionLabel(f VideoFile) string {
	if f.Label != "" {
		return f.Label
	}
	if f.Resolution == 0 {
		return "audio only"
	}
	return fmt.Sprintf("%dp", f.Resolution)
}
