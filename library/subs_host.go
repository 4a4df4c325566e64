package library

import (
	"context"
	"database/sql"
	"time"
)

// The live side of subscriptions when hosting: videos the inbox accepted
// (Create, Announce, Update) land in the feed when their channel, account
// or sender is subscribed; a Delete takes them out.

// feedArrival is what feedFromInboxTx did, for the events after commit.
type feedArrival struct {
	subID  int64
	uuid   string
	isNew  bool
	mirror bool
}

// feedFromInboxTx adds a received video to the feed (in the inbox's
// transaction) when it belongs to a subscription.
func (l *Library) feedFromInboxTx(ctx context.Context, tx *sql.Tx, v Video, sender string) (feedArrival, error) {
	var (
		subID  int64
		mirror int
	)
	err := tx.QueryRowContext(ctx, `SELECT id, mirror_latest FROM subscriptions WHERE actor IN (?, ?, ?) AND state <> 'gone'
		ORDER BY kind = 'channel' DESC, id LIMIT 1`, v.Channel.URL, v.Account.URL, sender).Scan(&subID, &mirror)
	if err == sql.ErrNoRows {
		return feedArrival{}, nil
	}
	if err != nil {
		return feedArrival{}, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO feed (video_uuid, subscription_id, first_seen, unseen) VALUES (?, ?, ?, 1)
		ON CONFLICT (video_uuid) DO NOTHING`, v.UUID, subID, ms(l.now()))
	if err != nil {
		return feedArrival{}, err
	}
	n, _ := res.RowsAffected()
	return feedArrival{subID: subID, uuid: v.UUID, isNew: n > 0, mirror: mirror > 0}, nil
}

// afterFeedArrival tells the feed subscribers, and mirrors when asked.
func (l *Library) afterFeedArrival(ctx context.Context, a feedArrival) {
	if a.subID == 0 {
		return
	}
	if a.isNew {
		l.announceNew(ctx, a.subID, []string{a.uuid})
	} else if v, err := l.Video(ctx, a.uuid); err == nil {
		sub, _ := l.subscription(ctx, a.subID)
		l.feedChanged(FeedEvent{Kind: FeedUpdated, Item: FeedItem{Video: v, Subscription: sub.Subscription}})
	}
	if a.mirror && l.ctx.Err() == nil {
		// Not in the inbox's request: downloading takes a while.
		l.wg.Go(func() {
			ctx, cancel := context.WithTimeout(l.ctx, 5*time.Minute)
			defer cancel()
			if err := l.syncMirrors(ctx, a.subID); err != nil {
				l.log.Error("subscriptions: mirroring", "err", err)
			}
		})
	}
}

// feedRemoveTx takes the videos of iri out of the feed, in tx.
func (l *Library) feedRemoveTx(ctx context.Context, tx *sql.Tx, iri string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM feed WHERE video_uuid IN (SELECT uuid FROM videos WHERE url = ?)
		RETURNING video_uuid`, iri)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// afterFeedRemoval tells the feed subscribers and releases the mirrors of
// deleted videos.
func (l *Library) afterFeedRemoval(uuids []string) {
	for _, u := range uuids {
		l.feedChanged(FeedEvent{Kind: FeedRemoved, Item: FeedItem{Video: Video{UUID: u}}})
	}
	if len(uuids) == 0 || l.ctx.Err() != nil {
		return
	}
	l.wg.Go(func() {
		ctx, cancel := context.WithTimeout(l.ctx, time.Minute)
		defer cancel()
		for _, u := range uuids {
			if err := l.releaseMirror(ctx, u); err != nil {
				l.log.Error("subscriptions: releasing a mirror", "uuid", u, "err", err)
			}
		}
	})
}
