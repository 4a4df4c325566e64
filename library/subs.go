package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Subscriptions: the user follows channels and accounts of any PeerTube
// (or Fourmi) instance. Without hosting, a background poller reads their
// REST video lists (conditional requests, per-host backoff, jitter, one
// polite global rate) and merges new videos into the catalog and the
// subscription feed. With hosting, Subscribe also sends a real ActivityPub
// Follow from the instance's account, and the inbox's Create, Announce,
// Update and Delete reach the feed live. The methods: Subscribe,
// Unsubscribe, Subscriptions, SubscriptionByHandle, SetMirrorLatest,
// RefreshSubscriptions, Feed, MarkFeedSeen, UnseenCount, SubscribeFeed,
// ExportSubscriptions, ImportSubscriptions (subs*.go).

// Subscription kinds.
const (
	SubscriptionChannel = "channel"
	SubscriptionAccount = "account"
)

// Subscription states.
const (
	SubscriptionOK    = "ok"    // polled normally
	SubscriptionError = "error" // the last poll failed; retried with backoff
	SubscriptionGone  = "gone"  // the channel vanished (404/410 repeatedly): no longer polled
)

// Default polling pace.
const (
	DefaultSubscriptionPollInterval = 30 * time.Minute
	DefaultSubscriptionRequestGap   = 2 * time.Second
)

// goneAfter is how many consecutive 404/410 answers make a subscription gone.
const goneAfter = 3

// Subscription is a followed channel or account.
type Subscription struct {
	ID          int64
	Actor       string // the actor IRI, https://host/video-channels/NAME
	Kind        string // SubscriptionChannel or SubscriptionAccount
	Host        string // host[:port]
	BaseURL     string // scheme://host
	Name        string // preferred username
	DisplayName string
	AvatarURL   string
	// FeedURL is the origin's RSS feed of the videos (PeerTube's
	// /feeds/videos.xml?videoChannelId=ID), "" when the id is unknown.
	FeedURL string
	// MirrorLatest keeps the latest N videos downloaded and seeded (0 = off).
	MirrorLatest int
	State        string // SubscriptionOK, SubscriptionError, SubscriptionGone
	Error        string // why the last poll failed or why it is gone
	LastPoll     time.Time
	NextPoll     time.Time
	Created      time.Time
	// Following is the state of the ActivityPub Follow sent when hosting
	// ("" when none was sent; FollowingPending, FollowingAccepted, …).
	Following string
}

// Handle is name@host.
func (s Subscription) Handle() string { return s.Name + "@" + s.Host }

// FeedItem is a video of the subscription feed.
type FeedItem struct {
	Video        Video
	Subscription Subscription
	FirstSeen    time.Time
	Unseen       bool
}

// Kinds of FeedEvent.
const (
	FeedNew           = "new"           // a video arrived (Item set): notify
	FeedUpdated       = "updated"       // a feed video changed (its title…)
	FeedRemoved       = "removed"       // a feed video was deleted (Item.Video.UUID set)
	FeedSeen          = "seen"          // MarkFeedSeen
	FeedSubscriptions = "subscriptions" // the list of subscriptions changed
)

// FeedEvent tells the GUI that the feed changed. Unseen is the badge.
type FeedEvent struct {
	Kind   string
	Item   FeedItem
	Unseen int
}

// subsState is the poller's and the feed subscribers' state.
type subsState struct {
	kick chan struct{} // wakes the poller

	rateMu   sync.Mutex // the global request pace
	lastReq  time.Time
	hostMu   sync.Mutex
	hostWait map[string]time.Time // per-host backoff: no request before
	// followTried: actors whose Follow was tried in this run (followPending).
	followTried map[string]bool

	pollMu sync.Mutex // one poll round at a time

	subMu   sync.Mutex
	subs    map[int]chan FeedEvent
	nextSub int

	once sync.Once
}

// subs is the library's subscription state.
func (l *Library) subs() *subsState {
	s := &l.watch.subs
	s.once.Do(func() {
		s.kick = make(chan struct{}, 1)
		s.hostWait = map[string]time.Time{}
		s.followTried = map[string]bool{}
		s.subs = map[int]chan FeedEvent{}
	})
	return s
}

// pollInterval and requestGap are the configured pace.
func (l *Library) pollInterval() time.Duration {
	if l.opt.SubscriptionPollInterval > 0 {
		return l.opt.SubscriptionPollInterval
	}
	return DefaultSubscriptionPollInterval
}

func (l *Library) requestGap() time.Duration {
	if l.opt.SubscriptionRequestGap > 0 {
		return l.opt.SubscriptionRequestGap
	}
	return DefaultSubscriptionRequestGap
}

const subCols = `s.id, s.actor, s.kind, s.host, s.base_url, s.name, s.display_name, s.avatar_url, s.remote_id,
	s.mirror_latest, s.state, s.error, s.last_poll, s.next_poll, s.created, coalesce(f.state, ''), s.via, s.outbox`

const subFrom = " FROM subscriptions s LEFT JOIN host_following f ON f.actor = s.actor"

// subRow is a subscription with what only the poller needs.
type subRow struct {
	Subscription
	remoteID int64
	via      string // "rest" or "outbox"
	outbox   string
}

func scanSub(r interface{ Scan(...any) error }) (subRow, error) {
	var (
		s                      subRow
		lastPoll, next, create int64
	)
	if err := r.Scan(&s.ID, &s.Actor, &s.Kind, &s.Host, &s.BaseURL, &s.Name, &s.DisplayName, &s.AvatarURL, &s.remoteID,
		&s.MirrorLatest, &s.State, &s.Error, &lastPoll, &next, &create, &s.Following, &s.via, &s.outbox); err != nil {
		return subRow{}, err
	}
	s.LastPoll, s.NextPoll, s.Created = fromMS(lastPoll), fromMS(next), fromMS(create)
	if s.remoteID > 0 {
		param := "videoChannelId"
		if s.Kind == SubscriptionAccount {
			param = "accountId"
		}
		s.FeedURL = fmt.Sprintf("%s/feeds/videos.xml?%s=%d", s.BaseURL, param, s.remoteID)
	}
	return s, nil
}

func (l *Library) subRows(ctx context.Context, where string, args ...any) ([]subRow, error) {
	rows, err := l.db.QueryContext(ctx, "SELECT "+subCols+subFrom+" "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("library: reading subscriptions: %w", err)
	}
	defer rows.Close()
	var out []subRow
	for rows.Next() {
		s, err := scanSub(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Subscriptions lists the subscriptions by name.
func (l *Library) Subscriptions(ctx context.Context) ([]Subscription, error) {
	rows, err := l.subRows(ctx, "ORDER BY lower(CASE WHEN s.display_name <> '' THEN s.display_name ELSE s.name END), s.id")
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, len(rows))
	for i, r := range rows {
		out[i] = r.Subscription
	}
	return out, nil
}

// subscription is one subscription by id (ErrNotFound).
func (l *Library) subscription(ctx context.Context, id int64) (subRow, error) {
	rows, err := l.subRows(ctx, "WHERE s.id = ?", id)
	if err != nil {
		return subRow{}, err
	}
	if len(rows) == 0 {
		return subRow{}, fmt.Errorf("library: subscription %d: %w", id, ErrNotFound)
	}
	return rows[0], nil
}

// SubscriptionByHandle finds a subscription by name@host, actor URL or
// channel page URL (ErrNotFound when the user does not follow it).
func (l *Library) SubscriptionByHandle(ctx context.Context, handleOrURL string) (Subscription, error) {
	t, err := parseSubTarget(handleOrURL)
	if err != nil {
		return Subscription{}, err
	}
	rows, err := l.subRows(ctx, "WHERE (s.actor = ?) OR (s.host = ? AND s.name = ? AND (? = '' OR s.kind = ?))",
		strings.TrimSpace(handleOrURL), t.host, t.name, t.kind, t.kind)
	if err != nil {
		return Subscription{}, err
	}
	if len(rows) == 0 {
		return Subscription{}, fmt.Errorf("library: you do not follow %s: %w", strings.TrimSpace(handleOrURL), ErrNotFound)
	}
	return rows[0].Subscription, nil
}

// SetMirrorLatest sets how many of a subscription's latest videos are kept
// downloaded and seeded (0 turns mirroring off and releases the mirrors).
func (l *Library) SetMirrorLatest(ctx context.Context, id int64, n int) error {
	if n < 0 || n > 100 {
		return fmt.Errorf("library: keep between 0 and 100 videos, not %d", n)
	}
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		return affected(tx.ExecContext(ctx, "UPDATE subscriptions SET mirror_latest = ? WHERE id = ?", n, id))(fmt.Sprint("subscription ", id))
	})
	if err != nil {
		return fmt.Errorf("library: %w", err)
	}
	l.feedChanged(FeedEvent{Kind: FeedSubscriptions})
	return l.syncMirrors(ctx, id)
}

// UnseenCount is the number of feed videos the user has not seen.
func (l *Library) UnseenCount(ctx context.Context) (int, error) {
	var n int
	err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM feed f JOIN videos v ON v.uuid = f.video_uuid WHERE f.unseen = 1").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("library: %w", err)
	}
	return n, nil
}

// MarkFeedSeen marks every feed video seen (the badge goes to zero).
func (l *Library) MarkFeedSeen(ctx context.Context) error {
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE feed SET unseen = 0 WHERE unseen = 1")
		return err
	})
	if err != nil {
		return fmt.Errorf("library: %w", err)
	}
	l.feedChanged(FeedEvent{Kind: FeedSeen})
	return nil
}

// Feed lists the subscription feed newest first (by publication, then by
// arrival); limit ≤ 0 means 100.
func (l *Library) Feed(ctx context.Context, limit int) ([]FeedItem, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := l.db.QueryContext(ctx, `SELECT f.video_uuid, f.subscription_id, f.first_seen, f.unseen
		FROM feed f JOIN videos v ON v.uuid = f.video_uuid
		ORDER BY v.published_at DESC, f.first_seen DESC, v.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("library: reading the feed: %w", err)
	}
	type row struct {
		uuid   string
		sub    int64
		first  int64
		unseen bool
	}
	var rs []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.uuid, &r.sub, &r.first, &r.unseen); err != nil {
			rows.Close()
			return nil, err
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	subs := map[int64]Subscription{}
	out := make([]FeedItem, 0, len(rs))
	for _, r := range rs {
		v, err := l.Video(ctx, r.uuid)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s, ok := subs[r.sub]
		if !ok {
			sr, err := l.subscription(ctx, r.sub)
			if err != nil {
				return nil, err
			}
			s, subs[r.sub] = sr.Subscription, sr.Subscription
		}
		out = append(out, FeedItem{Video: v, Subscription: s, FirstSeen: fromMS(r.first), Unseen: r.unseen})
	}
	return out, nil
}

// SubscribeFeed calls fn (from its own goroutine, in order) for every
// change of the feed; a slow fn misses events rather than blocking the
// library. The returned function unsubscribes.
func (l *Library) SubscribeFeed(fn func(FeedEvent)) (unsubscribe func()) {
	s := l.subs()
	ch := make(chan FeedEvent, 64)
	s.subMu.Lock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = ch
	s.subMu.Unlock()
	l.wg.Go(func() {
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					return
				}
				fn(ev)
			case <-l.ctx.Done():
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, id)
			s.subMu.Unlock()
			close(ch)
		})
	}
}

// feedChanged sends ev (with the unseen count) to the feed subscribers.
func (l *Library) feedChanged(ev FeedEvent) {
	s := l.subs()
	s.subMu.Lock()
	n := len(s.subs)
	s.subMu.Unlock()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(l.ctx, 5*time.Second)
	ev.Unseen, _ = l.UnseenCount(ctx)
	cancel()
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for _, ch := range s.subs {
		select {
		case ch <- ev:
		default: // a slow subscriber drops events
		}
	}
}
