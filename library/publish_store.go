package library

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// newUUID is a random UUID v4 (RFC 9562), as PeerTube requires.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// localRow is one local_videos row.
type localRow struct {
	v           LocalVideo
	resolutions []int
}

const localCols = `uuid, title, description, tags, category, licence, language, privacy, nsfw, support, channel,
	source, resolutions, state, steps, overall, error, duration_ms, thumbnail, preview, created_at, updated_at, published_at`

func scanLocal(r interface{ Scan(...any) error }) (localRow, error) {
	var (
		lr                         localRow
		v                          = &lr.v
		tags, res, steps           string
		privacy                    int
		durMS, created, upd, pubAt int64
		state                      string
	)
	if err := r.Scan(&v.UUID, &v.Meta.Title, &v.Meta.Description, &tags, &v.Meta.Category, &v.Meta.Licence,
		&v.Meta.Language, &privacy, &v.Meta.NSFW, &v.Meta.Support, &v.Meta.Channel, &v.Source, &res, &state,
		&steps, &v.Progress.Overall, &v.Progress.Error, &durMS, &v.Thumbnail, &v.Preview, &created, &upd, &pubAt); err != nil {
		return localRow{}, err
	}
	v.Meta.Privacy = Privacy(privacy)
	v.State = PublishState(state)
	v.Duration = time.Duration(durMS) * time.Millisecond
	v.CreatedAt, v.UpdatedAt, v.PublishedAt = fromMS(created), fromMS(upd), fromMS(pubAt)
	if err := json.Unmarshal([]byte(tags), &v.Meta.Tags); err != nil {
		return localRow{}, fmt.Errorf("video %s: bad tags: %w", v.UUID, err)
	}
	if err := json.Unmarshal([]byte(res), &lr.resolutions); err != nil {
		return localRow{}, fmt.Errorf("video %s: bad resolutions: %w", v.UUID, err)
	}
	if err := json.Unmarshal([]byte(steps), &v.Progress.Steps); err != nil {
		return localRow{}, fmt.Errorf("video %s: bad steps: %w", v.UUID, err)
	}
	v.Progress.UUID, v.Progress.State = v.UUID, v.State
	if v.State == PublishDone {
		v.Progress.Overall = 1
	}
	return lr, nil
}

// localRows reads the creator's videos (one when uuid is set), newest first,
// with their files.
func (l *Library) localRows(ctx context.Context, uuid string) ([]localRow, error) {
	q := "SELECT " + localCols + " FROM local_videos"
	var args []any
	if uuid != "" {
		q += " WHERE uuid = ?"
		args = append(args, uuid)
	}
	q += " ORDER BY created_at DESC, rowid DESC"
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []localRow
	for rows.Next() {
		lr, err := scanLocal(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, lr)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].v.Files, err = l.localFiles(ctx, out[i].v.UUID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (l *Library) localRow(ctx context.Context, uuid string) (localRow, error) {
	rows, err := l.localRows(ctx, strings.TrimSpace(uuid))
	if err != nil {
		return localRow{}, fmt.Errorf("library: %w", err)
	}
	if len(rows) == 0 {
		return localRow{}, fmt.Errorf("library: my video %s: %w", uuid, ErrNotFound)
	}
	return rows[0], nil
}

func (l *Library) localFiles(ctx context.Context, uuid string) ([]LocalFile, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT resolution, width, height, fps, size, path, infohash, torrent_path,
		magnet, web_seed_url FROM local_files WHERE video_uuid = ? ORDER BY resolution DESC`, uuid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LocalFile
	for rows.Next() {
		var f LocalFile
		if err := rows.Scan(&f.Resolution, &f.Width, &f.Height, &f.FPS, &f.Size, &f.Path, &f.InfoHash,
			&f.TorrentPath, &f.Magnet, &f.WebSeedURL); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// insertLocal stores a new queued job.
func (l *Library) insertLocal(ctx context.Context, v LocalVideo, resolutions []int) error {
	tags, err := json.Marshal(nonNil(v.Meta.Tags))
	if err != nil {
		return err
	}
	res, err := json.Marshal(nonNilInts(resolutions))
	if err != nil {
		return err
	}
	steps, err := json.Marshal(nonNilSteps(v.Progress.Steps))
	if err != nil {
		return err
	}
	m := v.Meta
	return l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO local_videos (uuid, title, description, tags, category, licence,
			language, privacy, nsfw, support, channel, source, resolutions, state, steps, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.UUID, m.Title, m.Description, string(tags), m.Category, m.Licence, m.Language, int(m.Privacy), m.NSFW,
			m.Support, m.Channel, v.Source, string(res), string(v.State), string(steps), ms(v.CreatedAt), ms(v.UpdatedAt))
		return err
	})
}

// setLocalState moves a job from one of the states in from (any when
// empty) to state, with its error; it reports whether the row moved.
func (l *Library) setLocalState(ctx context.Context, uuid string, state PublishState, errMsg string, from ...PublishState) (bool, error) {
	q := "UPDATE local_videos SET state = ?, error = ?, updated_at = ? WHERE uuid = ?"
	args := []any{string(state), errMsg, ms(l.now()), uuid}
	if len(from) > 0 {
		q += " AND state IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(from)), ", ") + ")"
		for _, f := range from {
			args = append(args, string(f))
		}
	}
	var n int64
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// saveSteps stores a job's progress (coarse grain: MyVideos shows it).
func (l *Library) saveSteps(ctx context.Context, p PublishProgress) error {
	b, err := json.Marshal(nonNilSteps(p.Steps))
	if err != nil {
		return err
	}
	return l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE local_videos SET steps = ?, overall = ? WHERE uuid = ?", string(b), p.Overall, p.UUID)
		return err
	})
}

// nextQueued is the oldest queued job, or "".
func (l *Library) nextQueued(ctx context.Context) (string, error) {
	var uuid string
	err := l.db.QueryRowContext(ctx, "SELECT uuid FROM local_videos WHERE state = 'queued' ORDER BY created_at, rowid LIMIT 1").Scan(&uuid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return uuid, err
}

// catalogVideo is how a published video appears in the catalog (Play,
// local search): origin is the instance's host when hosting, else "".
func catalogVideo(v LocalVideo, publicURL string) Video {
	m := v.Meta
	cv := Video{
		UUID: v.UUID, Name: m.Title, Description: m.Description, Duration: v.Duration,
		PublishedAt: v.PublishedAt, NSFW: m.NSFW, Tags: m.Tags, Support: m.Support,
		Category: categories[m.Category], Licence: licences[m.Licence], Language: languages[m.Language],
		Channel:   Actor{Name: m.Channel, DisplayName: m.Channel},
		DetailsAt: v.UpdatedAt,
	}
	if v.Thumbnail != "" {
		cv.ThumbnailURL = fileURL(v.Thumbnail)
	}
	if v.Preview != "" {
		cv.PreviewURL = fileURL(v.Preview)
	}
	if host := hostOf(publicURL); host != "" {
		cv.Origin = host
		cv.URL = strings.TrimRight(publicURL, "/") + "/videos/watch/" + v.UUID
		cv.Channel.Host = host
		cv.Channel.URL = strings.TrimRight(publicURL, "/") + "/video-channels/" + m.Channel
	}
	for _, f := range v.Files {
		cv.Files = append(cv.Files, VideoFile{Resolution: f.Resolution, Label: resLabel(f.Resolution),
			Width: f.Width, Height: f.Height, Size: f.Size, FPS: f.FPS, TorrentURL: torrentURLFor(publicURL, f),
			MagnetURI: f.Magnet, FileURL: f.WebSeedURL})
	}
	return cv
}

// writeCatalog upserts the published video's catalog row and files.
func (l *Library) writeCatalog(ctx context.Context, tx *sql.Tx, cv Video) error {
	w := l.writer(ctx, tx, l.now())
	defer w.close()
	ids, err := w.videos([]Video{cv}, true)
	if err != nil {
		return err
	}
	if cv.Files == nil {
		return nil
	}
	return w.files(ids[0], cv.Files)
}

func resLabel(res int) string {
	if res == 0 {
		return "Audio only"
	}
	return fmt.Sprintf("%dp", res)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilInts(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

func nonNilSteps(s []StepStatus) []StepStatus {
	if s == nil {
		return []StepStatus{}
	}
	return s
}
