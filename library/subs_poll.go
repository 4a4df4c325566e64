package library

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
)

// The poller: every subscription is polled about every
// SubscriptionPollInterval (± 10 % jitter) through its REST video list,
// with If-None-Match/If-Modified-Since, never more than one request per
// SubscriptionRequestGap overall; a host that fails or rate-limits is left
// alone for a growing while (per-host backoff, Retry-After honoured).

// pollCount is how many of the newest videos one poll reads.
const pollCount = 25

// Per-host backoff after a failure: base doubling per consecutive failure,
// capped.
const (
	hostBackoffBase = time.Minute
	hostBackoffMax  = 6 * time.Hour
)

// kickPoller wakes the poller (a new subscription is due at once).
func (l *Library) kickPoller() {
	select {
	case l.subs().kick <- struct{}{}:
	default:
	}
}

// runSubscriptions is the poller goroutine, started by Start and ended
// with ctx (Close).
func (l *Library) runSubscriptions(ctx context.Context) {
	s := l.subs()
	t := time.NewTimer(0)
	defer t.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		l.followPending(ctx)
		l.pollDue(ctx, false)
		if err := l.reconcileMirrors(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("subscriptions: checking mirrors", "err", err)
		}
		if first {
			// Mirrors asked for while BitTorrent was not running.
			first = false
			l.syncAllMirrors(ctx)
		}
		// Announced mirrors whose CacheFile nears its expiry (subs_mirror.go).
		refreshErr := l.refreshMirrors(ctx)
		if refreshErr != nil && ctx.Err() == nil {
			l.log.Error("subscriptions: refreshing mirrors", "err", refreshErr)
		}
		wait := time.Minute
		if next, ok := l.nextDue(ctx); ok {
			wait = min(max(next.Sub(l.now()), time.Second), time.Minute)
		}
		// (Not hosting, or failing: the minute's round retries.)
		if next, ok := l.nextMirrorRefresh(ctx); ok && refreshErr == nil && l.hostServer() != nil {
			wait = min(max(next.Sub(l.now()), time.Second), wait)
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}

// followPending sends the ActivityPub Follow of subscriptions made while
// hosting was off (once per subscription and run), now that it runs.
func (l *Library) followPending(ctx context.Context) {
	if l.hostServer() == nil {
		return
	}
	rows, err := l.db.QueryContext(ctx, `SELECT actor FROM subscriptions WHERE state <> 'gone'
		AND actor NOT IN (SELECT actor FROM host_following)`)
	if err != nil {
		return
	}
	var actors []string
	for rows.Next() {
		var a string
		if rows.Scan(&a) == nil {
			actors = append(actors, a)
		}
	}
	rows.Close()
	s := l.subs()
	for _, a := range actors {
		s.hostMu.Lock()
		tried := s.followTried[a]
		s.followTried[a] = true
		s.hostMu.Unlock()
		if tried {
			continue
		}
		if _, err := l.FollowRemote(ctx, a); err != nil {
			l.log.Info("subscriptions: could not send the Follow", "actor", a, "err", err)
		}
	}
}

// nextDue is the earliest next poll of a live subscription.
func (l *Library) nextDue(ctx context.Context) (time.Time, bool) {
	var next sql.NullInt64
	if err := l.db.QueryRowContext(ctx, "SELECT min(next_poll) FROM subscriptions WHERE state <> 'gone'").Scan(&next); err != nil || !next.Valid {
		return time.Time{}, false
	}
	return fromMS(next.Int64), true
}

// RefreshSubscriptions polls every subscription that is not gone now
// (still at the polite rate, and skipping hosts in backoff), and returns
// when done. The error joins the subscriptions' failures; their state is
// in Subscriptions.
func (l *Library) RefreshSubscriptions(ctx context.Context) error {
	err := l.pollDue(ctx, true)
	return errors.Join(err, l.reconcileMirrors(ctx))
}

// pollDue polls the due subscriptions (all live ones when all).
func (l *Library) pollDue(ctx context.Context, all bool) error {
	s := l.subs()
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	where := "WHERE s.state <> 'gone' AND s.next_poll <= ? ORDER BY s.next_poll, s.id"
	args := []any{ms(l.now())}
	if all {
		where, args = "WHERE s.state <> 'gone' ORDER BY s.id", nil
	}
	subs, err := l.subRows(ctx, where, args...)
	if err != nil {
		return err
	}
	if len(subs) > 0 {
		// States, errors and a first poll's backlog change without a
		// FeedNew: tell the screens once the round is over.
		defer l.feedChanged(FeedEvent{Kind: FeedSubscriptions})
	}
	var errs []error
	for _, sub := range subs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if until, ok := l.hostBackoff(sub.Host); ok {
			errs = append(errs, fmt.Errorf("%s: %s is resting until %s after errors", sub.Handle(), sub.Host, until.Format(time.TimeOnly)))
			continue
		}
		if err := l.pollSub(ctx, sub); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sub.Handle(), err))
		}
	}
	return errors.Join(errs...)
}

// hostBackoff reports whether host must be left alone, and until when.
func (l *Library) hostBackoff(host string) (time.Time, bool) {
	s := l.subs()
	s.hostMu.Lock()
	defer s.hostMu.Unlock()
	until, ok := s.hostWait[host]
	if !ok || !time.Now().Before(until) {
		return time.Time{}, false
	}
	return until, true
}

// backOffHost leaves host alone for d.
func (l *Library) backOffHost(host string, d time.Duration) {
	s := l.subs()
	s.hostMu.Lock()
	s.hostWait[host] = time.Now().Add(d)
	s.hostMu.Unlock()
}

// pace waits until the global request gap since the last request passed.
func (l *Library) pace(ctx context.Context) error {
	s := l.subs()
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	if wait := time.Until(s.lastReq.Add(l.requestGap())); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	s.lastReq = time.Now()
	return nil
}

// jittered is d ± 10 %.
func jittered(d time.Duration) time.Duration {
	j := int64(d) / 10
	if j <= 0 {
		return d
	}
	return d - time.Duration(j) + time.Duration(rand.Int64N(2*j+1))
}

// pollSub polls one subscription and records the outcome.
func (l *Library) pollSub(ctx context.Context, sub subRow) error {
	if sub.via == "outbox" {
		return l.pollOutbox(ctx, sub)
	}
	if err := l.pace(ctx); err != nil {
		return err
	}
	path := "/api/v1/video-channels/"
	if sub.Kind == SubscriptionAccount {
		path = "/api/v1/accounts/"
	}
	q := url.Values{"start": {"0"}, "count": {strconv.Itoa(pollCount)}, "sort": {"-publishedAt"}}
	target := sub.BaseURL + path + url.PathEscape(sub.Name) + "/videos?" + q.Encode()
	var etag, lastMod string
	if err := l.db.QueryRowContext(ctx, "SELECT etag, last_modified FROM subscriptions WHERE id = ?", sub.ID).Scan(&etag, &lastMod); err != nil {
		return err
	}
	hdr := http.Header{}
	if etag != "" {
		hdr.Set("If-None-Match", etag)
	}
	if lastMod != "" {
		hdr.Set("If-Modified-Since", lastMod)
	}
	body, rh, err := l.restGet(ctx, target, hdr)
	var he *peertube.HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusNotModified:
		return l.recordPoll(ctx, sub, pollOutcome{})
	case errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusGone):
		return l.recordPoll(ctx, sub, pollOutcome{missing: true, err: fmt.Errorf("%s answers HTTP %d for it", sub.Host, he.Status)})
	case errors.As(err, &he) && (he.Status == http.StatusTooManyRequests || he.Status == http.StatusServiceUnavailable):
		wait := hostBackoffBase
		if rh != nil {
			if n, e := strconv.Atoi(strings.TrimSpace(rh.Get("Retry-After"))); e == nil && n > 0 {
				wait = time.Duration(n) * time.Second
			}
		}
		l.backOffHost(sub.Host, wait)
		return l.recordPoll(ctx, sub, pollOutcome{err: fmt.Errorf("%s asks to slow down (HTTP %d)", sub.Host, he.Status), transient: true})
	case err != nil:
		return l.recordPoll(ctx, sub, pollOutcome{err: err})
	}
	var page struct {
		Total *int               `json:"total"`
		Data  *[]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &page); err != nil || page.Total == nil || page.Data == nil {
		return l.recordPoll(ctx, sub, pollOutcome{err: fmt.Errorf("%s: %w (no total/data list)", sub.Host, peertube.ErrNotPeerTube)})
	}
	pc, err := peertube.New(sub.BaseURL, peertube.Options{HTTPClient: l.hc})
	if err != nil {
		return err
	}
	resolve := instanceResolver(pc)
	var vs []Video
	ls := &pollListing{complete: *page.Total <= len(*page.Data)}
	for _, raw := range *page.Data {
		var pv peertube.Video
		if json.Unmarshal(raw, &pv) != nil || !uuidRE.MatchString(strings.ToLower(pv.UUID)) || pv.Name == "" {
			continue // one odd item does not cost the poll
		}
		v := convertVideo(pv, sub.Host, resolve)
		v.UUID = strings.ToLower(v.UUID)
		vs = append(vs, v)
		ls.keys = append(ls.keys, v.UUID)
	}
	if len(ls.keys) < len(*page.Data) {
		ls.complete = false // odd items: their videos are unknown
	}
	out := pollOutcome{videos: vs, etag: rh.Get("ETag"), lastModified: rh.Get("Last-Modified"), fresh: true, listing: ls}
	return l.recordPoll(ctx, sub, out)
}

// pollOutcome is what one poll found.
type pollOutcome struct {
	videos             []Video
	fresh              bool // a 200 answer (etag and lastModified replace the stored ones)
	etag, lastModified string
	missing            bool  // 404/410
	transient          bool  // rate-limited: not the subscription's fault
	err                error // the failure, nil when fine
	// listing is what the poll listed (nil: not a full answer), to
	// notice deleted videos (subs_vanish.go).
	listing *pollListing
}

// recordPoll stores a poll's outcome: videos into the catalog and the feed
// (new ones unseen, except at the first poll: the backlog is not news),
// the validators, the state and the next poll.
func (l *Library) recordPoll(ctx context.Context, sub subRow, o pollOutcome) error {
	now := l.now()
	var news []string
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		var failures, missing int
		if err := tx.QueryRowContext(ctx, "SELECT failures, missing FROM subscriptions WHERE id = ?", sub.ID).Scan(&failures, &missing); err != nil {
			return err
		}
		state, msg := SubscriptionOK, ""
		next := now.Add(jittered(l.pollInterval()))
		switch {
		case o.missing:
			missing++
			failures++
			state, msg = SubscriptionError, o.err.Error()
			if missing >= goneAfter {
				state, msg = SubscriptionGone, fmt.Sprintf("the %s no longer exists: %v (%d times); no longer polled", sub.Kind, o.err, missing)
			}
		case o.err != nil:
			missing = 0
			if !o.transient {
				failures++
				l.backOffHost(sub.Host, min(hostBackoffBase<<min(failures-1, 20), hostBackoffMax))
			}
			state, msg = SubscriptionError, o.err.Error()
			next = now.Add(min(l.pollInterval()<<min(failures, 4), 24*time.Hour))
		default:
			failures, missing = 0, 0
		}
		q := `UPDATE subscriptions SET state = ?, error = ?, failures = ?, missing = ?, last_poll = ?, next_poll = ?`
		args := []any{state, msg, failures, missing, ms(now), ms(next)}
		if o.fresh {
			q += ", etag = ?, last_modified = ?"
			args = append(args, o.etag, o.lastModified)
		}
		if _, err := tx.ExecContext(ctx, q+" WHERE id = ?", append(args, sub.ID)...); err != nil {
			return err
		}
		if len(o.videos) == 0 {
			return nil
		}
		var listed []Video
		for _, v := range o.videos {
			if v.DetailsAt.IsZero() {
				listed = append(listed, v)
			} else if err := l.writeCatalog(ctx, tx, v); err != nil { // from an outbox: details and files
				return err
			}
		}
		if len(listed) > 0 {
			w := l.writer(ctx, tx, now)
			defer w.close()
			if _, err := w.videos(listed, false); err != nil {
				return err
			}
		}
		unseen := 1
		if sub.LastPoll.IsZero() {
			unseen = 0
		}
		for _, v := range o.videos {
			res, err := tx.ExecContext(ctx, `INSERT INTO feed (video_uuid, subscription_id, first_seen, unseen)
				VALUES (?, ?, ?, ?) ON CONFLICT (video_uuid) DO NOTHING`, v.UUID, sub.ID, ms(now), unseen)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 && unseen == 1 {
				news = append(news, v.UUID)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("library: recording a poll: %w", err)
	}
	if o.err != nil {
		l.log.Info("subscriptions: poll failed", "actor", sub.Actor, "err", o.err)
	} else {
		l.log.Debug("subscriptions: polled", "actor", sub.Actor, "videos", len(o.videos), "new", len(news))
	}
	l.announceNew(ctx, sub.ID, news)
	if o.err == nil && o.listing != nil {
		l.checkVanished(ctx, sub, *o.listing)
	}
	if len(o.videos) > 0 && sub.MirrorLatest > 0 {
		if err := l.syncMirrors(ctx, sub.ID); err != nil {
			l.log.Error("subscriptions: mirroring", "actor", sub.Actor, "err", err)
		}
	}
	return o.err
}

// announceNew sends FeedNew events for the new videos.
func (l *Library) announceNew(ctx context.Context, subID int64, uuids []string) {
	if len(uuids) == 0 {
		return
	}
	sub, err := l.subscription(ctx, subID)
	if err != nil {
		return
	}
	for _, u := range uuids {
		v, err := l.Video(ctx, u)
		if err != nil {
			continue
		}
		l.feedChanged(FeedEvent{Kind: FeedNew, Item: FeedItem{Video: v, Subscription: sub.Subscription, FirstSeen: l.now(), Unseen: true}})
	}
}
