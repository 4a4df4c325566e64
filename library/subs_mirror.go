package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/server"
)

// Mirroring: a subscription's MirrorLatest keeps its latest N videos
// downloaded and seeded through the ordinary transfers (so the disk budget
// applies and they are evictable). When hosting, each mirror is announced
// to the video's origin with Create{CacheFile} from the instance actor, as
// PeerTube's redundancy does, pointing at /static/redundancy/FILE on this
// instance (served from the downloaded file); an evicted or released
// mirror is withdrawn with Undo. Each CacheFile expires after
// MirrorLifetime; the poller refreshes it with Update{CacheFile} (same id,
// new expires) once less than half of it remains, as PeerTube refreshes
// its redundancies. Received CacheFiles for our own videos are recorded
// (MirroredBy) until they expire, Update extending them.

// DefaultMirrorLifetime is a mirror's announced lifetime unless configured.
const DefaultMirrorLifetime = 25 * time.Hour

// mirrorLifetime is the configured lifetime of an announced mirror.
func (l *Library) mirrorLifetime() time.Duration {
	if l.opt.MirrorLifetime > 0 {
		return l.opt.MirrorLifetime
	}
	return DefaultMirrorLifetime
}

// Mirror is a remote instance's announced copy of one of our videos.
type Mirror struct {
	CacheFile string // the CacheFile's id
	Actor     string // who mirrors it
	FileURL   string // where the copy is served
	VideoURL  string
	Received  time.Time // the last Create or Update
	Expires   time.Time // zero when the CacheFile has no expiry
}

// syncMirrors downloads the latest MirrorLatest videos of a subscription
// and releases the mirrors that fell out of them.
func (l *Library) syncMirrors(ctx context.Context, subID int64) error {
	if _, err := l.engine(); err != nil {
		return nil // not started (a CLI command): the app mirrors when it runs
	}
	sub, err := l.subscription(ctx, subID)
	if err != nil {
		return err
	}
	if err := l.reconcileMirrors(ctx); err != nil {
		return err
	}
	rows, err := l.db.QueryContext(ctx, `SELECT f.video_uuid FROM feed f JOIN videos v ON v.uuid = f.video_uuid
		WHERE f.subscription_id = ? ORDER BY v.published_at DESC, f.first_seen DESC LIMIT ?`, subID, sub.MirrorLatest)
	if err != nil {
		return err
	}
	var want []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return err
		}
		want = append(want, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := l.releaseMirrors(ctx, subID, want...); err != nil {
		return err
	}
	var errs []error
	for _, u := range want {
		var have int
		if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM mirrors WHERE video_uuid = ?", u).Scan(&have); err != nil {
			return err
		}
		if have > 0 {
			continue
		}
		if err := l.mirror(ctx, sub.Subscription, u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncAllMirrors syncs the mirrors of every subscription that wants some.
func (l *Library) syncAllMirrors(ctx context.Context) {
	rows, err := l.subRows(ctx, "WHERE s.mirror_latest > 0 AND s.state <> 'gone'")
	if err != nil {
		return
	}
	for _, s := range rows {
		if err := l.syncMirrors(ctx, s.ID); err != nil && ctx.Err() == nil {
			l.log.Error("subscriptions: mirroring", "actor", s.Actor, "err", err)
		}
	}
}

// mirror downloads one video for a subscription and announces it.
func (l *Library) mirror(ctx context.Context, sub Subscription, uuid string) error {
	tr, err := l.Download(ctx, uuid, 0)
	if err != nil {
		return fmt.Errorf("mirroring %s: %w", uuid, err)
	}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO mirrors (video_uuid, subscription_id, infohash, created) VALUES (?, ?, ?, ?)
			ON CONFLICT (video_uuid) DO NOTHING`, uuid, sub.ID, tr.InfoHash, ms(l.now()))
		return err
	})
	if err != nil {
		return err
	}
	l.log.Info("subscriptions: mirroring", "uuid", uuid, "actor", sub.Actor, "infohash", tr.InfoHash)
	if l.hostServer() != nil {
		if err := l.announceMirror(ctx, sub, uuid, tr); err != nil {
			l.log.Error("subscriptions: announcing a mirror", "uuid", uuid, "err", err)
		}
	}
	return nil
}

// mirrorFileName is the file name a mirror is served under.
func mirrorFileName(uuid string, res int) string { return fmt.Sprintf("%s-%d.mp4", uuid, res) }

// cacheFileFor is the CacheFile announcing our copy of file f of v until
// expires; its id has PeerTube's shape (/redundancy/videos/UUID/RESOLUTION[-FPS]).
func cacheFileFor(base string, v Video, f VideoFile, expires time.Time) *federation.CacheFile {
	id := fmt.Sprintf("%s/redundancy/videos/%s/%d", base, v.UUID, f.Resolution)
	if fps := int(math.Round(f.FPS)); fps > 0 {
		id += fmt.Sprintf("-%d", fps)
	}
	return &federation.CacheFile{
		ID:      id,
		Type:    federation.TypeCacheFile,
		Object:  v.URL,
		Expires: isoTime(expires),
		URL: federation.Link{Type: federation.TypeLink, MediaType: federation.MediaTypeMP4,
			Href: base + "/static/redundancy/" + mirrorFileName(v.UUID, f.Resolution), Height: f.Resolution,
			Size: f.Size, FPS: int(math.Round(f.FPS))},
	}
}

// announceMirror sends Create{CacheFile} for a mirrored video to its
// origin's shared inbox, from the instance actor.
func (l *Library) announceMirror(ctx context.Context, sub Subscription, uuid string, tr Transfer) error {
	in, err := l.hostStore().Instance(ctx)
	if err != nil {
		return err
	}
	v, err := l.Video(ctx, uuid)
	if err != nil {
		return err
	}
	var f VideoFile
	for _, vf := range v.Files {
		if vf.Resolution == tr.Resolution && !vf.HLS {
			f = vf
			break
		}
	}
	if f.Size == 0 {
		return fmt.Errorf("%s: no web video file of %dp to announce", uuid, tr.Resolution)
	}
	expires := l.now().Add(l.mirrorLifetime())
	cf := cacheFileFor(in.BaseURL, v, f, expires)
	if err := federation.ValidateCacheFile(cf, federation.ValidateOptions{AllowLocalhost: true}); err != nil {
		return err
	}
	me := in.BaseURL + "/accounts/peertube"
	create, err := federation.NewCreate(cf.ID, me, cf, federation.IRIs{federation.Public}, nil)
	if err != nil {
		return err
	}
	b, err := json.Marshal(create)
	if err != nil {
		return err
	}
	c, _ := l.HostConfig(ctx)
	client := federation.NewClient(federation.ClientOptions{AllowPrivate: c.AllowPrivateNetworks,
		Validate: federation.ValidateOptions{AllowLocalhost: c.AllowPrivateNetworks}})
	actor, err := client.GetActor(ctx, sub.Actor)
	if err != nil {
		return fmt.Errorf("finding the origin's inbox: %w", err)
	}
	inbox := actor.Inbox
	if actor.Endpoints != nil && actor.Endpoints.SharedInbox != "" {
		inbox = actor.Endpoints.SharedInbox
	}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE mirrors SET cache_file = ?, inbox = ?, expires = ? WHERE video_uuid = ?",
			b, inbox, ms(expires), uuid); err != nil {
			return err
		}
		_, err := enqueueTx(ctx, tx, b, server.RoleInstance, []string{inbox}, l.now(), l.now())
		return err
	})
	if err == nil {
		l.kickPoller() // it plans the refresh before the expiry
	}
	return err
}

// releaseMirrors releases the mirrors of a subscription except the videos
// in keep.
func (l *Library) releaseMirrors(ctx context.Context, subID int64, keep ...string) error {
	rows, err := l.db.QueryContext(ctx, "SELECT video_uuid FROM mirrors WHERE subscription_id = ?", subID)
	if err != nil {
		return err
	}
	var drop []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return err
		}
		keepIt := false
		for _, k := range keep {
			keepIt = keepIt || k == u
		}
		if !keepIt {
			drop = append(drop, u)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var errs []error
	for _, u := range drop {
		errs = append(errs, l.releaseMirror(ctx, u))
	}
	return errors.Join(errs...)
}

// releaseMirror withdraws one mirror: Undo of its CacheFile when one was
// announced, and its transfer left to the ordinary limits (evictable).
func (l *Library) releaseMirror(ctx context.Context, uuid string) error {
	return l.withdrawMirror(ctx, uuid, false)
}

// withdrawMirror sends the Undo of a mirror's CacheFile and forgets the
// mirror, or keeps it marked released when evicted (so that it is not
// downloaded again).
func (l *Library) withdrawMirror(ctx context.Context, uuid string, evicted bool) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		var (
			cache    []byte
			inbox    string
			released bool
		)
		err := tx.QueryRowContext(ctx, "SELECT cache_file, inbox, released FROM mirrors WHERE video_uuid = ?", uuid).Scan(&cache, &inbox, &released)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		q := "DELETE FROM mirrors WHERE video_uuid = ?"
		if evicted {
			q = "UPDATE mirrors SET released = 1, cache_file = NULL WHERE video_uuid = ?"
		}
		if _, err := tx.ExecContext(ctx, q, uuid); err != nil {
			return err
		}
		if released {
			return nil
		}
		if len(cache) == 0 || inbox == "" {
			return nil
		}
		var create federation.Activity
		if err := json.Unmarshal(cache, &create); err != nil {
			return err
		}
		undo, err := federation.NewUndo(create.ID+"/undo", create.ActorIRI(), &create)
		if err != nil {
			return err
		}
		b, err := json.Marshal(undo)
		if err != nil {
			return err
		}
		l.log.Info("subscriptions: mirror withdrawn", "uuid", uuid)
		_, err = enqueueTx(ctx, tx, b, server.RoleInstance, []string{inbox}, l.now(), l.now())
		return err
	})
}

// reconcileMirrors releases the mirrors whose download is gone (evicted by
// the disk budget or removed by the user).
func (l *Library) reconcileMirrors(ctx context.Context) error {
	rows, err := l.db.QueryContext(ctx, `SELECT video_uuid FROM mirrors m
		WHERE released = 0 AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.infohash = m.infohash)`)
	if err != nil {
		return err
	}
	var gone []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return err
		}
		gone = append(gone, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var errs []error
	for _, u := range gone {
		errs = append(errs, l.withdrawMirror(ctx, u, true))
	}
	return errors.Join(errs...)
}

// serveMirror serves a mirrored file at /static/redundancy/UUID-RES.mp4
// (hosting's mux): only complete mirrors.
func (l *Library) serveMirror(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/redundancy/")
	base, ok := strings.CutSuffix(name, ".mp4")
	i := strings.LastIndex(base, "-")
	if !ok || i < 0 {
		http.NotFound(w, r)
		return
	}
	uuid, res := base[:i], base[i+1:]
	if _, err := strconv.Atoi(res); err != nil || !uuidRE.MatchString(uuid) {
		http.NotFound(w, r)
		return
	}
	var ih string
	err := l.db.QueryRowContext(r.Context(), `SELECT m.infohash FROM mirrors m JOIN transfers t ON t.infohash = m.infohash
		WHERE m.released = 0 AND m.video_uuid = ? AND t.resolution = ? AND t.size > 0 AND t.completed >= t.size`, uuid, res).Scan(&ih)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	p, err := l.TransferPath(r.Context(), ih)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// onMirrorActivity records Create{CacheFile}, Update{CacheFile} (a new
// expiry) and Undo{Create{CacheFile}} received for our own videos (the
// server verified the signature).
func (l *Library) onMirrorActivity(act *federation.Activity) {
	create := act
	undo := act.Type == federation.TypeUndo
	if undo {
		inner, err := act.ObjectActivity()
		if err != nil {
			return
		}
		create = inner
	}
	if (create.Type != federation.TypeCreate && create.Type != federation.TypeUpdate) || (undo && create.Type != federation.TypeCreate) ||
		create.Object.Type != federation.TypeCacheFile || create.ActorIRI() != act.ActorIRI() {
		return
	}
	var cf federation.CacheFile
	if err := json.Unmarshal(create.Object.Raw, &cf); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
	defer cancel()
	if !undo {
		c, _ := l.HostConfig(ctx)
		if err := federation.ValidateCacheFile(&cf, federation.ValidateOptions{AllowLocalhost: c.AllowPrivateNetworks}); err != nil {
			l.log.Info("hosting: invalid CacheFile", "actor", act.ActorIRI(), "err", err)
			return
		}
		if !federation.SameHost(cf.ID, act.ActorIRI()) {
			return
		}
	}
	var expires int64
	if cf.Expires != "" {
		t, err := time.Parse(time.RFC3339, cf.Expires)
		if err != nil {
			l.log.Info("hosting: CacheFile with an unreadable expiry", "actor", act.ActorIRI(), "expires", cf.Expires)
			return
		}
		expires = ms(t)
	}
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		if undo {
			_, err := tx.ExecContext(ctx, "DELETE FROM mirrored_by WHERE cache_file = ? AND actor = ?", cf.ID, act.ActorIRI())
			return err
		}
		// An Update of a mirror recorded for another actor changes nothing.
		_, err := tx.ExecContext(ctx, `INSERT INTO mirrored_by (cache_file, actor, video_url, file_url, json, received, expires)
			SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM local_videos lv JOIN host_instance hi
				ON ? = hi.base_url || '/videos/watch/' || lv.uuid)
			ON CONFLICT (cache_file) DO UPDATE SET file_url = excluded.file_url, json = excluded.json,
				received = excluded.received, expires = excluded.expires
				WHERE mirrored_by.actor = excluded.actor`,
			cf.ID, act.ActorIRI(), cf.Object, cf.URL.Href, []byte(create.Object.Raw), ms(l.now()), expires, cf.Object)
		return err
	})
	if err != nil {
		l.log.Error("hosting: recording a mirror", "err", err)
		return
	}
	l.log.Info("hosting: mirror announced", "type", create.Type, "undo", undo, "actor", act.ActorIRI(), "video", cf.Object, "expires", cf.Expires)
}

// MirroredBy lists the mirrors other instances announced for one of our
// videos (by UUID); expired ones (not refreshed in time) are left out.
func (l *Library) MirroredBy(ctx context.Context, uuid string) ([]Mirror, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT m.cache_file, m.actor, m.file_url, m.video_url, m.received, m.expires FROM mirrored_by m
		JOIN host_instance hi ON m.video_url = hi.base_url || '/videos/watch/' || ?
		WHERE m.expires = 0 OR m.expires > ? ORDER BY m.received`, strings.ToLower(uuid), ms(l.now()))
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	defer rows.Close()
	var out []Mirror
	for rows.Next() {
		var (
			m     Mirror
			t, ex int64
		)
		if err := rows.Scan(&m.CacheFile, &m.Actor, &m.FileURL, &m.VideoURL, &t, &ex); err != nil {
			return nil, err
		}
		m.Received, m.Expires = fromMS(t), fromMS(ex)
		out = append(out, m)
	}
	return out, rows.Err()
}

// isoTime is t as PeerTube writes dates (ISO 8601, UTC, milliseconds).
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// nextMirrorRefresh is when the earliest announced mirror needs its
// Update{CacheFile} (half its lifetime before it expires).
func (l *Library) nextMirrorRefresh(ctx context.Context) (time.Time, bool) {
	var next sql.NullInt64
	err := l.db.QueryRowContext(ctx, `SELECT min(expires) FROM mirrors
		WHERE released = 0 AND expires > 0 AND cache_file IS NOT NULL AND inbox <> ''`).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, false
	}
	return fromMS(next.Int64).Add(-l.mirrorLifetime() / 2), true
}

// refreshMirrors sends Update{CacheFile} with a new expiry for the
// announced mirrors that have less than half their lifetime left (while
// hosting: the instance actor signs it), and stores the new CacheFile (so
// that the Undo carries it).
func (l *Library) refreshMirrors(ctx context.Context) error {
	if l.hostServer() == nil {
		return nil
	}
	now := l.now()
	lifetime := l.mirrorLifetime()
	rows, err := l.db.QueryContext(ctx, `SELECT video_uuid, cache_file, inbox FROM mirrors
		WHERE released = 0 AND expires > 0 AND cache_file IS NOT NULL AND inbox <> '' AND expires <= ?
		ORDER BY expires`, ms(now.Add(lifetime/2)))
	if err != nil {
		return err
	}
	type due struct {
		uuid, inbox string
		create      []byte
	}
	var dues []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.uuid, &d.create, &d.inbox); err != nil {
			rows.Close()
			return err
		}
		dues = append(dues, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var errs []error
	for _, d := range dues {
		if err := l.refreshMirror(ctx, d.uuid, d.create, d.inbox, now.Add(lifetime)); err != nil {
			errs = append(errs, fmt.Errorf("refreshing the mirror of %s: %w", d.uuid, err))
		}
	}
	return errors.Join(errs...)
}

// refreshMirror sends one Update{CacheFile} expiring at expires.
func (l *Library) refreshMirror(ctx context.Context, uuid string, stored []byte, inbox string, expires time.Time) error {
	var create federation.Activity
	if err := json.Unmarshal(stored, &create); err != nil {
		return err
	}
	var cf federation.CacheFile
	if err := json.Unmarshal(create.Object.Raw, &cf); err != nil {
		return err
	}
	cf.Expires = isoTime(expires)
	if err := federation.ValidateCacheFile(&cf, federation.ValidateOptions{AllowLocalhost: true}); err != nil {
		return err
	}
	actor := create.ActorIRI()
	// PeerTube's Update id: the object's, /updates/ and the change's date.
	update, err := federation.NewUpdate(cf.ID+"/updates/"+isoTime(l.now()), actor, &cf, federation.IRIs{federation.Public}, nil)
	if err != nil {
		return err
	}
	ub, err := json.Marshal(update)
	if err != nil {
		return err
	}
	// The stored Create carries the new expiry: the Undo embeds it.
	renewed, err := federation.NewCreate(create.ID, actor, &cf, federation.IRIs{federation.Public}, nil)
	if err != nil {
		return err
	}
	cb, err := json.Marshal(renewed)
	if err != nil {
		return err
	}
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE mirrors SET cache_file = ?, expires = ? WHERE video_uuid = ? AND released = 0",
			cb, ms(expires), uuid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // released meanwhile
		}
		_, err = enqueueTx(ctx, tx, ub, server.RoleInstance, []string{inbox}, l.now(), l.now())
		return err
	})
	if err == nil {
		l.log.Info("subscriptions: mirror refreshed", "uuid", uuid, "expires", cf.Expires)
	}
	return err
}
