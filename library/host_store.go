package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/server"
)

// hostStore is the mini-instance's server.Store over the library's
// database. Local videos are the creator's published videos (local_videos
// and local_files, state done): what Publish makes is what the instance
// serves. Remote videos received through the inbox also land in the
// catalog (videos), so local search and Play find them.
type hostStore struct{ l *Library }

var _ server.Store = hostStore{}

// hostStore is the library's server.Store.
func (l *Library) hostStore() hostStore { return hostStore{l} }

// notFound wraps server.ErrNotFound and the library's ErrNotFound, so that
// both packages' callers recognise it.
func notFound(what string) error {
	return fmt.Errorf("%s: %w", what, errors.Join(server.ErrNotFound, ErrNotFound))
}

// Instance implements server.Store.
func (s hostStore) Instance(ctx context.Context) (server.Instance, error) {
	var (
		in       server.Instance
		trackers string
		created  int64
	)
	err := s.l.db.QueryRowContext(ctx, `SELECT base_url, name, account_name, account_display_name, channel_name,
		channel_display_name, channel_description, avatar_path, trackers, created FROM host_instance WHERE id = 1`).Scan(
		&in.BaseURL, &in.Name, &in.AccountName, &in.AccountDisplayName, &in.ChannelName, &in.ChannelDisplayName,
		&in.ChannelDescription, &in.AvatarPath, &trackers, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return server.Instance{}, notFound("instance")
	}
	if err != nil {
		return server.Instance{}, err
	}
	if err := json.Unmarshal([]byte(trackers), &in.Trackers); err != nil {
		return server.Instance{}, fmt.Errorf("instance trackers: %w", err)
	}
	in.Created = fromMS(created)
	return in, nil
}

// SaveInstance implements server.Store.
func (s hostStore) SaveInstance(ctx context.Context, in server.Instance) error {
	return s.l.inTx(ctx, func(tx *sql.Tx) error { return saveInstanceTx(ctx, tx, in) })
}

func saveInstanceTx(ctx context.Context, tx *sql.Tx, in server.Instance) error {
	tr, err := json.Marshal(nonNil(in.Trackers))
	if err != nil {
		return err
	}
	// Created is kept from the first save when the new one has none.
	_, err = tx.ExecContext(ctx, `INSERT INTO host_instance (id, base_url, name, account_name, account_display_name,
		channel_name, channel_display_name, channel_description, avatar_path, trackers, created)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET base_url = excluded.base_url, name = excluded.name,
			account_name = excluded.account_name, account_display_name = excluded.account_display_name,
			channel_name = excluded.channel_name, channel_display_name = excluded.channel_display_name,
			channel_description = excluded.channel_description, avatar_path = excluded.avatar_path,
			trackers = excluded.trackers,
			created = CASE WHEN excluded.created = 0 THEN host_instance.created ELSE excluded.created END`,
		in.BaseURL, in.Name, in.AccountName, in.AccountDisplayName, in.ChannelName, in.ChannelDisplayName,
		in.ChannelDescription, in.AvatarPath, string(tr), ms(in.Created))
	return err
}

// ActorKey implements server.Store.
func (s hostStore) ActorKey(ctx context.Context, role string) (string, error) {
	var pem string
	err := s.l.db.QueryRowContext(ctx, "SELECT pem FROM host_actor_keys WHERE role = ?", role).Scan(&pem)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("actor key " + role)
	}
	return pem, err
}

// PutActorKeyIfAbsent implements server.Store.
func (s hostStore) PutActorKeyIfAbsent(ctx context.Context, role, pem string) (string, error) {
	var got string
	err := s.l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO host_actor_keys (role, pem) VALUES (?, ?) ON CONFLICT (role) DO NOTHING", role, pem); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT pem FROM host_actor_keys WHERE role = ?", role).Scan(&got)
	})
	return got, err
}

// Default image sizes of what Publish makes (media.Thumbnails), for rows
// written before the sizes were stored.
const (
	thumbWidth, thumbHeight     = 280, 157
	previewWidth, previewHeight = 850, 480
)

const hostVideoCols = `rowid, uuid, title, description, tags, category, licence, language, privacy, nsfw, support,
	duration_ms, published_at, updated_at, views, thumbnail, thumbnail_width, thumbnail_height,
	preview, preview_width, preview_height`

func scanHostVideo(r interface{ Scan(...any) error }) (server.LocalVideo, error) {
	var (
		v                 server.LocalVideo
		tags              string
		durMS, pub, upd   int64
		tw, th, pw, ph    int
		thumbPath, prPath string
	)
	if err := r.Scan(&v.ID, &v.UUID, &v.Name, &v.Description, &tags, &v.Category, &v.Licence, &v.Language,
		&v.Privacy, &v.NSFW, &v.Support, &durMS, &pub, &upd, &v.Views, &thumbPath, &tw, &th, &prPath, &pw, &ph); err != nil {
		return server.LocalVideo{}, err
	}
	if err := json.Unmarshal([]byte(tags), &v.Tags); err != nil {
		return server.LocalVideo{}, fmt.Errorf("video %s: bad tags: %w", v.UUID, err)
	}
	v.Duration = int((durMS + 500) / 1000)
	v.Published, v.Updated = fromMS(pub), fromMS(upd)
	if thumbPath != "" {
		if tw == 0 || th == 0 {
			tw, th = thumbWidth, thumbHeight
		}
		v.Thumbnail = server.ImageFile{Path: thumbPath, Width: tw, Height: th}
	}
	if prPath != "" {
		if pw == 0 || ph == 0 {
			pw, ph = previewWidth, previewHeight
		}
		v.Preview = server.ImageFile{Path: prPath, Width: pw, Height: ph}
	}
	return v, nil
}

func (s hostStore) videoFiles(ctx context.Context, q queryer, uuid string) ([]server.VideoFile, error) {
	rows, err := q.QueryContext(ctx, `SELECT resolution, width, height, fps, size, path, infohash, torrent_path, magnet
		FROM local_files WHERE video_uuid = ? ORDER BY resolution DESC`, uuid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []server.VideoFile
	for rows.Next() {
		var (
			f   server.VideoFile
			fps float64
		)
		if err := rows.Scan(&f.Resolution, &f.Width, &f.Height, &fps, &f.Size, &f.Path, &f.InfoHash, &f.TorrentPath, &f.Magnet); err != nil {
			return nil, err
		}
		f.FPS = int(math.Round(fps))
		out = append(out, f)
	}
	return out, rows.Err()
}

// PutLocalVideo implements server.Store: a published (done) row of
// local_videos with its files, replacing by UUID; ID is the row's rowid.
func (s hostStore) PutLocalVideo(ctx context.Context, v server.LocalVideo) (server.LocalVideo, error) {
	tags, err := json.Marshal(nonNil(v.Tags))
	if err != nil {
		return server.LocalVideo{}, err
	}
	channel := DefaultChannel
	if in, err := s.Instance(ctx); err == nil && in.ChannelName != "" {
		channel = in.ChannelName
	}
	err = s.l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO local_videos (uuid, title, description, tags, category, licence,
			language, privacy, nsfw, support, channel, source, state, overall, duration_ms, thumbnail, thumbnail_width,
			thumbnail_height, preview, preview_width, preview_height, views, created_at, updated_at, published_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 'done', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (uuid) DO UPDATE SET title = excluded.title, description = excluded.description,
				tags = excluded.tags, category = excluded.category, licence = excluded.licence,
				language = excluded.language, privacy = excluded.privacy, nsfw = excluded.nsfw,
				support = excluded.support, state = 'done', overall = 1, duration_ms = excluded.duration_ms,
				thumbnail = excluded.thumbnail, thumbnail_width = excluded.thumbnail_width,
				thumbnail_height = excluded.thumbnail_height, preview = excluded.preview,
				preview_width = excluded.preview_width, preview_height = excluded.preview_height,
				views = excluded.views, updated_at = excluded.updated_at, published_at = excluded.published_at`,
			v.UUID, v.Name, v.Description, string(tags), v.Category, v.Licence, v.Language, v.Privacy, v.NSFW, v.Support,
			channel, int64(v.Duration)*1000, v.Thumbnail.Path, v.Thumbnail.Width, v.Thumbnail.Height, v.Preview.Path,
			v.Preview.Width, v.Preview.Height, v.Views, ms(v.Published), ms(v.Updated), ms(v.Published))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM local_files WHERE video_uuid = ?", v.UUID); err != nil {
			return err
		}
		for _, f := range v.Files {
			if _, err := tx.ExecContext(ctx, `INSERT INTO local_files (video_uuid, resolution, width, height, fps, size,
				path, infohash, torrent_path, magnet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				v.UUID, f.Resolution, f.Width, f.Height, float64(f.FPS), f.Size, f.Path, strings.ToLower(f.InfoHash),
				f.TorrentPath, f.Magnet); err != nil {
				return fmt.Errorf("file %dp: %w", f.Resolution, err)
			}
		}
		return nil
	})
	if err != nil {
		return server.LocalVideo{}, fmt.Errorf("storing local video %s: %w", v.UUID, err)
	}
	return s.LocalVideo(ctx, v.UUID)
}

// LocalVideo implements server.Store: only published (done) videos exist
// for the server.
func (s hostStore) LocalVideo(ctx context.Context, uuid string) (server.LocalVideo, error) {
	row := s.l.db.QueryRowContext(ctx, "SELECT "+hostVideoCols+" FROM local_videos WHERE uuid = ? AND state = 'done'", strings.ToLower(uuid))
	v, err := scanHostVideo(row)
	if errors.Is(err, sql.ErrNoRows) {
		return server.LocalVideo{}, notFound("local video " + uuid)
	}
	if err != nil {
		return server.LocalVideo{}, err
	}
	v.Files, err = s.videoFiles(ctx, s.l.db, v.UUID)
	return v, err
}

// hostSorts maps a VideoQuery sort to ORDER BY, ties by ID newest first
// (server.SortVideos).
var hostSorts = map[string]string{
	"-publishedAt": "published_at DESC",
	"publishedAt":  "published_at ASC",
	"-views":       "views DESC",
	"views":        "views ASC",
	"name":         "lower(title) ASC",
	"-name":        "lower(title) DESC",
}

// LocalVideos implements server.Store.
func (s hostStore) LocalVideos(ctx context.Context, q server.VideoQuery) ([]server.LocalVideo, int, error) {
	where := []string{"state = 'done'"}
	var args []any
	if !q.AllPrivacies {
		where = append(where, "privacy = 1")
	}
	if needle := strings.ToLower(strings.TrimSpace(q.Search)); needle != "" {
		where = append(where, `(instr(lower(title), ?) > 0 OR instr(lower(description), ?) > 0
			OR EXISTS (SELECT 1 FROM json_each(local_videos.tags) WHERE instr(lower(json_each.value), ?) > 0))`)
		args = append(args, needle, needle, needle)
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int
	if err := s.l.db.QueryRowContext(ctx, "SELECT count(*) FROM local_videos"+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order, ok := hostSorts[q.Sort]
	if !ok {
		order = hostSorts["-publishedAt"]
	}
	query := "SELECT " + hostVideoCols + " FROM local_videos" + cond + " ORDER BY " + order + ", rowid DESC"
	limit := -1
	if q.Count > 0 {
		limit = q.Count
	}
	query += " LIMIT ? OFFSET ?"
	args = append(args, limit, max(0, q.Start))
	rows, err := s.l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	var out []server.LocalVideo
	for rows.Next() {
		v, err := scanHostVideo(rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for i := range out {
		if out[i].Files, err = s.videoFiles(ctx, s.l.db, out[i].UUID); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// DeleteLocalVideo implements server.Store (the row and its files' rows;
// the files on disk are DeleteMyVideo's business).
func (s hostStore) DeleteLocalVideo(ctx context.Context, uuid string) error {
	return s.l.inTx(ctx, func(tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, "DELETE FROM local_videos WHERE uuid = ?", strings.ToLower(uuid)))("local video " + uuid)
	})
}

// affected turns an Exec result into ErrNotFound when no row changed.
func affected(res sql.Result, err error) func(what string) error {
	return func(what string) error {
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound(what)
		}
		return nil
	}
}

// PutFollower implements server.Store.
func (s hostStore) PutFollower(ctx context.Context, f server.Follower) error {
	return s.l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO host_followers (local, actor, inbox, shared_inbox, state, follow_id,
			follow_json, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (local, actor) DO UPDATE SET inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
				state = excluded.state, follow_id = excluded.follow_id, follow_json = excluded.follow_json,
				created = excluded.created`,
			f.Local, f.Actor, f.Inbox, f.SharedInbox, string(f.State), f.FollowID, f.FollowJSON, ms(f.Created))
		return err
	})
}

const followerCols = "local, actor, inbox, shared_inbox, state, follow_id, follow_json, created"

func scanFollower(r interface{ Scan(...any) error }) (server.Follower, error) {
	var (
		f       server.Follower
		state   string
		created int64
	)
	if err := r.Scan(&f.Local, &f.Actor, &f.Inbox, &f.SharedInbox, &state, &f.FollowID, &f.FollowJSON, &created); err != nil {
		return server.Follower{}, err
	}
	f.State, f.Created = server.FollowState(state), fromMS(created)
	return f, nil
}

// Follower implements server.Store.
func (s hostStore) Follower(ctx context.Context, local, actor string) (server.Follower, error) {
	f, err := scanFollower(s.l.db.QueryRowContext(ctx, "SELECT "+followerCols+" FROM host_followers WHERE local = ? AND actor = ?", local, actor))
	if errors.Is(err, sql.ErrNoRows) {
		return server.Follower{}, notFound("follower " + actor)
	}
	return f, err
}

// Followers implements server.Store.
func (s hostStore) Followers(ctx context.Context, local string, state server.FollowState) ([]server.Follower, error) {
	rows, err := s.l.db.QueryContext(ctx, "SELECT "+followerCols+` FROM host_followers
		WHERE (? = '' OR local = ?) AND (? = '' OR state = ?) ORDER BY created, rowid`, local, local, string(state), string(state))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []server.Follower
	for rows.Next() {
		f, err := scanFollower(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteFollower implements server.Store.
func (s hostStore) DeleteFollower(ctx context.Context, local, actor string) error {
	return s.l.inTx(ctx, func(tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, "DELETE FROM host_followers WHERE local = ? AND actor = ?", local, actor))("follower " + actor)
	})
}

// PutRemoteVideo implements server.Store. A video that parses as a
// PeerTube Video (what the server stores after validating it) is also
// written into the catalog, in the same transaction.
func (s hostStore) PutRemoteVideo(ctx context.Context, v server.RemoteVideo) error {
	cv, catalog := remoteCatalogVideo(v)
	var fed feedArrival
	err := s.l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO host_remote_videos (iri, uuid, name, actor, json, received)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (iri) DO UPDATE SET uuid = excluded.uuid, name = excluded.name,
			actor = excluded.actor, json = excluded.json, received = excluded.received`,
			v.IRI, v.UUID, v.Name, v.Actor, v.JSON, ms(v.Received)); err != nil {
			return err
		}
		if !catalog {
			return nil
		}
		if err := s.l.writeCatalog(ctx, tx, cv); err != nil {
			return err
		}
		var err error
		fed, err = s.l.feedFromInboxTx(ctx, tx, cv, v.Actor) // subscriptions (subs_host.go)
		return err
	})
	if err == nil {
		s.l.afterFeedArrival(ctx, fed)
	}
	return err
}

// remoteCatalogVideo is the catalog row of a received Video; ok is false
// when its JSON is not a usable Video.
func remoteCatalogVideo(rv server.RemoteVideo) (Video, bool) {
	var v federation.Video
	if err := json.Unmarshal(rv.JSON, &v); err != nil || v.UUID == "" || !uuidRE.MatchString(v.UUID) || v.ID == "" {
		return Video{}, false
	}
	origin := hostOf(v.ID)
	if origin == "" {
		return Video{}, false
	}
	cv := Video{
		UUID: strings.ToLower(v.UUID), URL: v.ID, Origin: origin, Name: v.Name, Description: v.Content,
		Views: v.Views, NSFW: v.Sensitive, IsLive: v.IsLiveBroadcast, Support: v.Support, DetailsAt: rv.Received,
	}
	if secs, err := v.DurationSeconds(); err == nil {
		cv.Duration = time.Duration(secs) * time.Second
	}
	if t, err := federation.ParseDate(v.Published); err == nil {
		cv.PublishedAt = t
	}
	if im := v.Thumbnail(); im != nil {
		cv.ThumbnailURL = im.URL
	}
	for _, t := range v.Tag {
		if t.Name != "" {
			cv.Tags = append(cv.Tags, t.Name)
		}
	}
	if v.Category != nil {
		cv.Category = v.Category.Name
	}
	if v.Licence != nil {
		cv.Licence = v.Licence.Name
	}
	if v.Language != nil {
		cv.Language = v.Language.Name
	}
	if ch, ok := v.Channel(); ok {
		cv.Channel = actorOf(ch.ID)
	}
	if acc, ok := v.Account(); ok {
		cv.Account = actorOf(acc.ID)
	}
	for _, f := range v.Files() {
		if f.HLS {
			continue
		}
		cv.Files = append(cv.Files, VideoFile{Resolution: f.Height, Label: resLabel(f.Height), Width: f.Width,
			Height: f.Height, Size: f.Size, FPS: float64(f.FPS), TorrentURL: f.TorrentURL, MagnetURI: f.MagnetURI,
			FileURL: f.URL})
	}
	return cv, true
}

// actorOf is the catalog Actor of an actor IRI (name from the last path
// segment, PeerTube's layout).
func actorOf(iri string) Actor {
	h := handleOf(iri)
	name, host, _ := strings.Cut(h, "@")
	return Actor{Name: name, DisplayName: name, Host: host, URL: iri}
}

const remoteCols = "iri, uuid, name, actor, json, received"

func scanRemote(r interface{ Scan(...any) error }) (server.RemoteVideo, error) {
	var (
		v        server.RemoteVideo
		received int64
	)
	if err := r.Scan(&v.IRI, &v.UUID, &v.Name, &v.Actor, &v.JSON, &received); err != nil {
		return server.RemoteVideo{}, err
	}
	v.Received = fromMS(received)
	return v, nil
}

// RemoteVideo implements server.Store.
func (s hostStore) RemoteVideo(ctx context.Context, iri string) (server.RemoteVideo, error) {
	v, err := scanRemote(s.l.db.QueryRowContext(ctx, "SELECT "+remoteCols+" FROM host_remote_videos WHERE iri = ?", iri))
	if errors.Is(err, sql.ErrNoRows) {
		return server.RemoteVideo{}, notFound("remote video " + iri)
	}
	return v, err
}

// RemoteVideos implements server.Store.
func (s hostStore) RemoteVideos(ctx context.Context) ([]server.RemoteVideo, error) {
	rows, err := s.l.db.QueryContext(ctx, "SELECT "+remoteCols+" FROM host_remote_videos ORDER BY received DESC, rowid DESC")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []server.RemoteVideo
	for rows.Next() {
		v, err := scanRemote(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteRemoteVideo implements server.Store; the catalog row goes too
// unless the user watched it (the history keeps it).
func (s hostStore) DeleteRemoteVideo(ctx context.Context, iri string) error {
	var removed []string
	err := s.l.inTx(ctx, func(tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, "DELETE FROM host_remote_videos WHERE iri = ?", iri))("remote video " + iri); err != nil {
			return err
		}
		var err error
		if removed, err = s.l.feedRemoveTx(ctx, tx, iri); err != nil { // subscriptions (subs_host.go)
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM videos WHERE url = ? AND uuid NOT IN (SELECT uuid FROM local_videos)
			AND NOT EXISTS (SELECT 1 FROM history h WHERE h.video_uuid = videos.uuid)
			AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.video_uuid = videos.uuid)`, iri)
		return err
	})
	if err == nil {
		s.l.afterFeedRemoval(removed)
	}
	return err
}

// Enqueue implements server.Store.
func (s hostStore) Enqueue(ctx context.Context, activity []byte, signer string, inboxes []string, notBefore time.Time) ([]int64, error) {
	var ids []int64
	err := s.l.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = enqueueTx(ctx, tx, activity, signer, inboxes, notBefore, s.l.now())
		return err
	})
	return ids, err
}

// enqueueTx queues one delivery per distinct inbox inside tx.
func enqueueTx(ctx context.Context, tx *sql.Tx, activity []byte, signer string, inboxes []string, notBefore, now time.Time) ([]int64, error) {
	seen := map[string]bool{}
	var ids []int64
	for _, in := range inboxes {
		if in == "" || seen[in] {
			continue
		}
		seen[in] = true
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO host_deliveries (activity, signer, inbox, next_attempt, created)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, activity, signer, in, ms(notBefore), ms(now)).Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

const deliveryCols = "id, activity, signer, inbox, attempts, next_attempt, leased_until, last_error, created"

// ClaimDeliveries implements server.Store with one UPDATE … RETURNING.
func (s hostStore) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Delivery, error) {
	if max <= 0 {
		return nil, nil
	}
	var out []server.Delivery
	err := s.l.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE host_deliveries SET leased_until = ?
			WHERE id IN (SELECT id FROM host_deliveries WHERE dropped = 0 AND next_attempt <= ? AND leased_until <= ?
				ORDER BY next_attempt, id LIMIT ?)
			RETURNING `+deliveryCols, ms(now.Add(lease)), ms(now), ms(now), max)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d                     server.Delivery
				next, leased, created int64
			)
			if err := rows.Scan(&d.ID, &d.Activity, &d.Signer, &d.Inbox, &d.Attempts, &next, &leased, &d.LastError, &created); err != nil {
				return err
			}
			d.NextAttempt, d.LeasedUntil, d.Created = fromMS(next), fromMS(leased), fromMS(created)
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sortDeliveries(out)
	return out, nil
}

// Delivery is server.Delivery (short name for signatures here).
type Delivery = server.Delivery

// sortDeliveries orders claimed items oldest due first (RETURNING has no
// order).
func sortDeliveries(ds []server.Delivery) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && (ds[j].NextAttempt.Before(ds[j-1].NextAttempt) ||
			(ds[j].NextAttempt.Equal(ds[j-1].NextAttempt) && ds[j].ID < ds[j-1].ID)); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// DeliveryDone implements server.Store.
func (s hostStore) DeliveryDone(ctx context.Context, id int64) error {
	return s.l.inTx(ctx, func(tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, "DELETE FROM host_deliveries WHERE id = ? AND dropped = 0", id))(fmt.Sprint("delivery ", id))
	})
}

// RetryDelivery implements server.Store.
func (s hostStore) RetryDelivery(ctx context.Context, id int64, next time.Time, countAttempt bool, lastErr string) error {
	inc := 0
	if countAttempt {
		inc = 1
	}
	return s.l.inTx(ctx, func(tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, `UPDATE host_deliveries SET next_attempt = ?, leased_until = 0,
			attempts = attempts + ?, last_error = ? WHERE id = ? AND dropped = 0`, ms(next), inc, lastErr, id))(fmt.Sprint("delivery ", id))
	})
}

// DropDelivery implements server.Store.
func (s hostStore) DropDelivery(ctx context.Context, id int64, lastErr string) error {
	return s.l.inTx(ctx, func(tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, `UPDATE host_deliveries SET dropped = 1, leased_until = 0, last_error = ?
			WHERE id = ? AND dropped = 0`, lastErr, id))(fmt.Sprint("delivery ", id))
	})
}

// QueueStats implements server.Store.
func (s hostStore) QueueStats(ctx context.Context) (server.QueueStats, error) {
	var st server.QueueStats
	err := s.l.db.QueryRowContext(ctx, `SELECT coalesce(sum(dropped = 0), 0), coalesce(sum(dropped = 1), 0)
		FROM host_deliveries`).Scan(&st.Pending, &st.Dropped)
	return st, err
}

// Breaker implements server.Store.
func (s hostStore) Breaker(ctx context.Context, host string) (server.Breaker, error) {
	b := server.Breaker{Host: host}
	var open int64
	err := s.l.db.QueryRowContext(ctx, "SELECT failures, open_until FROM host_breakers WHERE host = ?", host).Scan(&b.Failures, &open)
	if errors.Is(err, sql.ErrNoRows) {
		return b, nil
	}
	b.OpenUntil = fromMS(open)
	return b, err
}

// PutBreaker implements server.Store.
func (s hostStore) PutBreaker(ctx context.Context, b server.Breaker) error {
	return s.l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO host_breakers (host, failures, open_until) VALUES (?, ?, ?)
			ON CONFLICT (host) DO UPDATE SET failures = excluded.failures, open_until = excluded.open_until`,
			b.Host, b.Failures, ms(b.OpenUntil))
		return err
	})
}
