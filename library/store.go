package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// queryer is what reads need: *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// videoCols selects a video with its channel (c) and account (a); scanVideo
// reads them. Queries join: FROM videos v LEFT JOIN actors c … LEFT JOIN actors a ….
const videoCols = `v.id, v.uuid, v.url, v.origin, v.name, v.description, v.duration_ms, v.views, v.likes,
	v.published_at, v.thumbnail_url, v.preview_url, v.nsfw, v.is_live, v.category, v.licence, v.language,
	v.tags, v.support, v.details_at,
	coalesce(c.name, ''), coalesce(c.display_name, ''), coalesce(c.host, ''), coalesce(c.url, ''), coalesce(c.avatar_url, ''),
	coalesce(a.name, ''), coalesce(a.display_name, ''), coalesce(a.host, ''), coalesce(a.url, ''), coalesce(a.avatar_url, '')`

const videoJoins = ` LEFT JOIN actors c ON c.id = v.channel_id LEFT JOIN actors a ON a.id = v.account_id`

// scanVideo reads videoCols after the given leading destinations.
func scanVideo(r interface{ Scan(...any) error }, lead ...any) (int64, Video, error) {
	var (
		id                        int64
		v                         Video
		durMS, pub, details       int64
		nsfw, live                bool
		tags                      string
		cName, cDisp, cHost, cURL string
		cAv, aName, aDisp, aHost  string
		aURL, aAv                 string
	)
	dest := append(lead, &id, &v.UUID, &v.URL, &v.Origin, &v.Name, &v.Description, &durMS, &v.Views, &v.Likes,
		&pub, &v.ThumbnailURL, &v.PreviewURL, &nsfw, &live, &v.Category, &v.Licence, &v.Language,
		&tags, &v.Support, &details,
		&cName, &cDisp, &cHost, &cURL, &cAv, &aName, &aDisp, &aHost, &aURL, &aAv)
	if err := r.Scan(dest...); err != nil {
		return 0, Video{}, err
	}
	v.Duration = time.Duration(durMS) * time.Millisecond
	v.PublishedAt = fromMS(pub)
	v.DetailsAt = fromMS(details)
	v.NSFW, v.IsLive = nsfw, live
	if tags != "" && tags != "[]" {
		if err := json.Unmarshal([]byte(tags), &v.Tags); err != nil {
			return 0, Video{}, fmt.Errorf("video %s: bad tags: %w", v.UUID, err)
		}
	}
	v.Channel = Actor{Name: cName, DisplayName: cDisp, Host: cHost, URL: cURL, AvatarURL: cAv}
	v.Account = Actor{Name: aName, DisplayName: aDisp, Host: aHost, URL: aURL, AvatarURL: aAv}
	return id, v, nil
}

// collectVideos scans rows of videoCols.
func collectVideos(rows *sql.Rows) ([]Video, error) {
	defer rows.Close()
	var out []Video
	for rows.Next() {
		_, v, err := scanVideo(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// videoByUUID reads one video with its files; ErrNotFound if unknown.
func videoByUUID(ctx context.Context, q queryer, uuid string) (Video, error) {
	row := q.QueryRowContext(ctx, "SELECT "+videoCols+" FROM videos v"+videoJoins+" WHERE v.uuid = ?", uuid)
	id, v, err := scanVideo(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Video{}, fmt.Errorf("video %s: %w", uuid, ErrNotFound)
	}
	if err != nil {
		return Video{}, err
	}
	v.Files, err = videoFiles(ctx, q, id)
	return v, err
}

func videoFiles(ctx context.Context, q queryer, videoID int64) ([]VideoFile, error) {
	rows, err := q.QueryContext(ctx, `SELECT resolution, label, width, height, size, fps, torrent_url, magnet_uri, file_url, hls
		FROM video_files WHERE video_id = ? ORDER BY position`, videoID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []VideoFile
	for rows.Next() {
		var f VideoFile
		if err := rows.Scan(&f.Resolution, &f.Label, &f.Width, &f.Height, &f.Size, &f.FPS,
			&f.TorrentURL, &f.MagnetURI, &f.FileURL, &f.HLS); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// writer does the writes of one transaction, in multi-row statements
// prepared once per connection (stmtCache).
type writer struct {
	ctx   context.Context
	tx    *sql.Tx
	now   int64
	cache *stmtCache
	stmts map[string]*sql.Stmt // this tx's statements
}

// stmtCache keeps write statements prepared on the DB; database/sql
// re-prepares them at most once per connection.
type stmtCache struct {
	mu    sync.Mutex
	db    *sql.DB
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		s.Close()
	}
	c.stmts = nil
}

// writer starts the writes of transaction tx; now stamps fetched_at and
// listings.
func (l *Library) writer(ctx context.Context, tx *sql.Tx, now time.Time) *writer {
	return &writer{ctx: ctx, tx: tx, now: ms(now), cache: &l.stmtCache, stmts: map[string]*sql.Stmt{}}
}

func (w *writer) exec(query string, args ...any) error {
	s, ok := w.stmts[query]
	if !ok {
		parent, err := w.cache.get(w.ctx, query)
		if err != nil {
			return err
		}
		s = w.tx.StmtContext(w.ctx, parent)
		w.stmts[query] = s
	}
	_, err := s.ExecContext(w.ctx, args...)
	return err
}

func (w *writer) close() {
	for _, s := range w.stmts {
		s.Close()
	}
}

// batchRows is the most rows one multi-row statement writes.
const batchRows = 100

// valuesList repeats the row template n times: "(…), (…)".
func valuesList(row string, n int) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// upsertSQL builds a multi-row INSERT … ON CONFLICT DO UPDATE that writes a
// row only when one of sets would change it: unchanged rows are left alone
// (no row rewrite, no index or search-index work). always are set on a
// real update but do not count as a change.
func upsertSQL(table, conflict string, cols []string, row string, n int, sets [][2]string, always ...[2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES %s ON CONFLICT (%s) DO UPDATE SET ",
		table, strings.Join(cols, ", "), valuesList(row, n), conflict)
	var olds, news []string
	for i, kv := range slices.Concat(sets, always) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = %s", kv[0], kv[1])
		if i < len(sets) {
			olds = append(olds, table+"."+kv[0])
			news = append(news, kv[1])
		}
	}
	fmt.Fprintf(&b, " WHERE (%s) IS NOT (%s)", strings.Join(olds, ", "), strings.Join(news, ", "))
	return b.String()
}

// keepIfEmpty is the merge rule "a new non-empty value wins".
func keepIfEmpty(table, col string) [2]string {
	return [2]string{col, fmt.Sprintf("CASE WHEN excluded.%[2]s <> '' THEN excluded.%[2]s ELSE %[1]s.%[2]s END", table, col)}
}

func fromExcluded(cols ...string) [][2]string {
	var out [][2]string
	for _, c := range cols {
		out = append(out, [2]string{c, "excluded." + c})
	}
	return out
}

var actorCols = []string{"kind", "handle", "name", "display_name", "host", "url", "avatar_url"}

var actorSets = slices.Concat(fromExcluded("name"), [][2]string{
	keepIfEmpty("actors", "display_name"), keepIfEmpty("actors", "host"),
	keepIfEmpty("actors", "url"), keepIfEmpty("actors", "avatar_url")})

// actorHandle is an actor's key: name@host, or its URL when it has no
// name; "" for an unknown actor (stored as NULL).
func actorHandle(a Actor) string {
	if a.Name == "" {
		return a.URL
	}
	return a.Handle()
}

// handleArg is an actor handle as a query argument (NULL when unknown).
func handleArg(a Actor) any {
	if h := actorHandle(a); h != "" {
		return h
	}
	return nil
}

// actors upserts the channels and accounts of vs.
func (w *writer) actors(vs []Video) error {
	type key struct{ kind, handle string }
	seen := map[key]bool{}
	var args []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		err := w.exec(upsertSQL("actors", "kind, handle", actorCols, "(?, ?, ?, ?, ?, ?, ?)", n, actorSets), args...)
		args, n = args[:0], 0
		return err
	}
	for _, v := range vs {
		for _, ka := range []struct {
			kind string
			a    Actor
		}{{"channel", v.Channel}, {"account", v.Account}} {
			k := key{ka.kind, actorHandle(ka.a)}
			if k.handle == "" || seen[k] {
				continue
			}
			seen[k] = true
			a := ka.a
			args = append(args, k.kind, k.handle, a.Name, a.DisplayName, strings.ToLower(a.Host), a.URL, a.AvatarURL)
			if n++; n == batchRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

var videoInsertCols = []string{"uuid", "url", "origin", "name", "description", "duration_ms", "views", "likes",
	"published_at", "thumbnail_url", "preview_url", "channel_id", "account_id", "nsfw", "is_live", "category",
	"licence", "language", "tags", "fetched_at"}

// videoRow is one row of videoInsertCols; the actors are found by handle.
const videoRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
	(SELECT id FROM actors WHERE kind = 'channel' AND handle = ?),
	(SELECT id FROM actors WHERE kind = 'account' AND handle = ?),
	?, ?, ?, ?, ?, ?, ?`

// videoSets are the merge rules shared by listings and details: images and
// actors are only replaced by known ones.
var videoSets = slices.Concat(fromExcluded("url", "origin", "name", "duration_ms", "views", "likes", "published_at",
	"nsfw", "is_live", "category", "licence", "language"), [][2]string{
	keepIfEmpty("videos", "thumbnail_url"), keepIfEmpty("videos", "preview_url"),
	{"channel_id", "coalesce(excluded.channel_id, videos.channel_id)"},
	{"account_id", "coalesce(excluded.account_id, videos.account_id)"}})

// listedSets store a video as a listing shows it, keeping what only details
// carry (files, support, a full description, tags when the listing has none).
var listedSets = slices.Concat(videoSets, [][2]string{
	{"description", `CASE WHEN videos.details_at > 0 AND length(videos.description) > length(excluded.description)
		THEN videos.description ELSE excluded.description END`},
	{"tags", "CASE WHEN excluded.tags <> '[]' THEN excluded.tags ELSE videos.tags END"}})

// detailedSets store a video from its details: description, tags, support
// and details_at are replaced too.
var detailedSets = slices.Concat(videoSets, fromExcluded("description", "tags", "support", "details_at"))

// videos upserts vs (listed, or with their details when detailed) with
// their actors and returns their ids in order.
func (w *writer) videos(vs []Video, detailed bool) ([]int64, error) {
	if err := w.actors(vs); err != nil {
		return nil, fmt.Errorf("storing channels and accounts: %w", err)
	}
	cols, row, sets := videoInsertCols, videoRow+")", listedSets
	if detailed {
		cols, row, sets = slices.Concat(videoInsertCols, []string{"support", "details_at"}), videoRow+", ?, ?)", detailedSets
	}
	for start := 0; start < len(vs); start += batchRows {
		chunk := vs[start:min(start+batchRows, len(vs))]
		args := make([]any, 0, len(chunk)*len(cols))
		for _, v := range chunk {
			tags := "[]"
			if len(v.Tags) > 0 {
				b, err := json.Marshal(v.Tags)
				if err != nil {
					return nil, err
				}
				tags = string(b)
			}
			args = append(args, v.UUID, v.URL, v.Origin, v.Name, v.Description, v.Duration.Milliseconds(), v.Views, v.Likes,
				ms(v.PublishedAt), v.ThumbnailURL, v.PreviewURL, handleArg(v.Channel), handleArg(v.Account),
				v.NSFW, v.IsLive, v.Category, v.Licence, v.Language, tags, w.now)
			if detailed {
				args = append(args, v.Support, ms(v.DetailsAt))
			}
		}
		q := upsertSQL("videos", "uuid", cols, row, len(chunk), sets, [2]string{"fetched_at", "excluded.fetched_at"})
		if err := w.exec(q, args...); err != nil {
			return nil, fmt.Errorf("storing videos: %w", err)
		}
	}
	return w.videoIDs(vs)
}

// videoIDs returns the ids of the stored videos vs, in order.
func (w *writer) videoIDs(vs []Video) ([]int64, error) {
	ids := make(map[string]int64, len(vs))
	for start := 0; start < len(vs); start += batchRows {
		chunk := vs[start:min(start+batchRows, len(vs))]
		args := make([]any, len(chunk))
		for i, v := range chunk {
			args[i] = v.UUID
		}
		rows, err := w.tx.QueryContext(w.ctx, "SELECT uuid, id FROM videos WHERE uuid IN ("+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var u string
			var id int64
			if err := rows.Scan(&u, &id); err != nil {
				rows.Close()
				return nil, err
			}
			ids[u] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]int64, len(vs))
	for i, v := range vs {
		id, ok := ids[v.UUID]
		if !ok {
			return nil, fmt.Errorf("video %s was not stored", v.UUID)
		}
		out[i] = id
	}
	return out, nil
}

// files replaces a video's files.
func (w *writer) files(videoID int64, files []VideoFile) error {
	if err := w.exec("DELETE FROM video_files WHERE video_id = ?", videoID); err != nil {
		return err
	}
	for i, f := range files {
		err := w.exec(`INSERT INTO video_files (video_id, position, resolution, label, width, height, size, fps,
			torrent_url, magnet_uri, file_url, hls) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			videoID, i, f.Resolution, f.Label, f.Width, f.Height, f.Size, f.FPS, f.TorrentURL, f.MagnetURI, f.FileURL, f.HLS)
		if err != nil {
			return fmt.Errorf("storing a file of video %d: %w", videoID, err)
		}
	}
	return nil
}

// listed remembers that the instance at base listed the videos. seen_at is
// refreshed at most hourly: it only orders fallbacks.
func (w *writer) listed(ids []int64, base string) error {
	for start := 0; start < len(ids); start += batchRows {
		chunk := ids[start:min(start+batchRows, len(ids))]
		args := make([]any, 0, 3*len(chunk))
		for _, id := range chunk {
			args = append(args, id, base, w.now)
		}
		err := w.exec(`INSERT INTO video_listings (video_id, base_url, seen_at) VALUES `+valuesList("(?, ?, ?)", len(chunk))+`
			ON CONFLICT (video_id, base_url) DO UPDATE SET seen_at = excluded.seen_at
			WHERE excluded.seen_at > video_listings.seen_at + 3600000`, args...)
		if err != nil {
			return fmt.Errorf("storing listings: %w", err)
		}
	}
	return nil
}

// pageKey identifies a cached catalog page.
type pageKey struct {
	source, sort, search string
	page, size           int
}

// page replaces the cached page k with the given videos (ids in order).
func (w *writer) page(k pageKey, total int, fetchedAt time.Time, ids []int64) error {
	var pageID int64
	err := w.tx.QueryRowContext(w.ctx, `INSERT INTO catalog_pages (source, sort, search, page, page_size, total, fetched_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, sort, search, page, page_size) DO UPDATE SET total = excluded.total, fetched_at = excluded.fetched_at
		RETURNING id`, k.source, k.sort, k.search, k.page, k.size, total, ms(fetchedAt)).Scan(&pageID)
	if err != nil {
		return fmt.Errorf("storing page: %w", err)
	}
	// A refreshed page often lists the same videos: then its entries stay.
	if same, err := w.sameEntries(pageID, ids); err != nil || same {
		return err
	}
	if err := w.exec("DELETE FROM catalog_entries WHERE page_id = ?", pageID); err != nil {
		return err
	}
	for start := 0; start < len(ids); start += batchRows {
		chunk := ids[start:min(start+batchRows, len(ids))]
		args := make([]any, 0, 3*len(chunk))
		for i, id := range chunk {
			args = append(args, pageID, start+i, id)
		}
		if err := w.exec("INSERT INTO catalog_entries (page_id, position, video_id) VALUES "+
			valuesList("(?, ?, ?)", len(chunk)), args...); err != nil {
			return fmt.Errorf("storing page entries: %w", err)
		}
	}
	return nil
}

// sameEntries reports whether page pageID already lists ids, in order.
func (w *writer) sameEntries(pageID int64, ids []int64) (bool, error) {
	rows, err := w.tx.QueryContext(w.ctx, "SELECT video_id FROM catalog_entries WHERE page_id = ? ORDER BY position", pageID)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return false, err
		}
		if i >= len(ids) || ids[i] != id {
			return false, nil
		}
		i++
	}
	return i == len(ids), rows.Err()
}

// readPage reads a cached page; ok is false when it was never stored.
func readPage(ctx context.Context, q queryer, k pageKey) (p Page, ok bool, err error) {
	rows, err := q.QueryContext(ctx, `SELECT p.total, p.fetched_at, `+videoCols+`
		FROM catalog_pages p
		JOIN catalog_entries e ON e.page_id = p.id
		JOIN videos v ON v.id = e.video_id`+videoJoins+`
		WHERE p.source = ? AND p.sort = ? AND p.search = ? AND p.page = ? AND p.page_size = ?
		ORDER BY e.position`, k.source, k.sort, k.search, k.page, k.size)
	if err != nil {
		return Page{}, false, err
	}
	defer rows.Close()
	var fetched int64
	for rows.Next() {
		_, v, err := scanVideo(rows, &p.Total, &fetched)
		if err != nil {
			return Page{}, false, err
		}
		p.Videos = append(p.Videos, v)
		ok = true
	}
	if err := rows.Err(); err != nil {
		return Page{}, false, err
	}
	if !ok {
		// An empty page (a search with no results) has no entries.
		err := q.QueryRowContext(ctx, `SELECT total, fetched_at FROM catalog_pages
			WHERE source = ? AND sort = ? AND search = ? AND page = ? AND page_size = ?`,
			k.source, k.sort, k.search, k.page, k.size).Scan(&p.Total, &fetched)
		if errors.Is(err, sql.ErrNoRows) {
			return Page{}, false, nil
		}
		if err != nil {
			return Page{}, false, err
		}
		ok = true
	}
	p.FetchedAt = fromMS(fetched)
	return p, ok, nil
}
