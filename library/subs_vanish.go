package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fourmi-app/fourmi/federation"
	"github.com/fourmi-app/fourmi/federation/peertube"
)

// Deletions seen by polling. Without hosting no Delete activity arrives: a
// video deleted on its origin just stops being listed. A poll reads the
// newest page of a subscription's videos, so a feed video missing from it
// that is newer than the page's oldest video (or any missing one when the
// page is the whole list) should have been there; one GET of the video
// confirms: 404 or 410 takes it out of the feed (and releases a mirror of
// it), anything else (a timeout, a 5xx, a private video) keeps it.

// maxVanishChecks bounds the confirming GETs of one poll (polite: the rest
// wait for the next poll).
const maxVanishChecks = 10

// pollListing is what a poll listed, for checkVanished.
type pollListing struct {
	byURL    bool     // keys are video IRIs (outbox) rather than UUIDs (REST)
	keys     []string // the videos listed
	complete bool     // the page holds the whole list
}

// vanished is a feed video a poll did not list.
type vanished struct{ uuid, iri string }

// checkVanished confirms and removes the subscription's feed videos that
// the listing should have held. Failures are logged: the videos stay.
func (l *Library) checkVanished(ctx context.Context, sub subRow, ls pollListing) {
	cands, err := l.vanishCandidates(ctx, sub, ls)
	if err != nil {
		l.log.Error("subscriptions: checking for deleted videos", "actor", sub.Actor, "err", err)
		return
	}
	var gone []string
	for _, c := range cands {
		del, err := l.confirmGone(ctx, sub, c)
		if err != nil {
			l.log.Info("subscriptions: a video left the listing but its origin did not confirm a deletion; kept",
				"actor", sub.Actor, "uuid", c.uuid, "err", err)
			continue
		}
		if !del {
			continue
		}
		err = l.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "DELETE FROM feed WHERE video_uuid = ? AND subscription_id = ?", c.uuid, sub.ID); err != nil {
				return err
			}
			// The catalog row goes too, unless the history or a download
			// still needs it (as for an inbox Delete).
			_, err := tx.ExecContext(ctx, `DELETE FROM videos WHERE uuid = ? AND uuid NOT IN (SELECT uuid FROM local_videos)
				AND NOT EXISTS (SELECT 1 FROM history h WHERE h.video_uuid = videos.uuid)
				AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.video_uuid = videos.uuid)`, c.uuid)
			return err
		})
		if err != nil {
			l.log.Error("subscriptions: removing a deleted video", "uuid", c.uuid, "err", err)
			continue
		}
		l.log.Info("subscriptions: video deleted on its origin", "actor", sub.Actor, "uuid", c.uuid)
		gone = append(gone, c.uuid)
	}
	l.afterFeedRemoval(gone)
}

// vanishCandidates are the subscription's feed videos missing from the
// listing and newer than its oldest video (all missing ones when the
// listing is complete), newest first, at most maxVanishChecks.
func (l *Library) vanishCandidates(ctx context.Context, sub subRow, ls pollListing) ([]vanished, error) {
	col := "uuid"
	if ls.byURL {
		col = "url"
	}
	listed := map[string]bool{}
	oldest := int64(-1)
	for _, k := range ls.keys {
		listed[k] = true
		var p int64
		err := l.db.QueryRowContext(ctx, "SELECT published_at FROM videos WHERE "+col+" = ?", k).Scan(&p)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if oldest < 0 || p < oldest {
			oldest = p
		}
	}
	if !ls.complete && oldest < 0 {
		return nil, nil // nothing to compare with
	}
	rows, err := l.db.QueryContext(ctx, `SELECT v.uuid, v.url, v.published_at FROM feed f JOIN videos v ON v.uuid = f.video_uuid
		WHERE f.subscription_id = ? ORDER BY v.published_at DESC, v.uuid`, sub.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []vanished
	for rows.Next() && len(out) < maxVanishChecks {
		var (
			v   vanished
			pub int64
		)
		if err := rows.Scan(&v.uuid, &v.iri, &pub); err != nil {
			return nil, err
		}
		key := v.uuid
		if ls.byURL {
			key = v.iri
		}
		if listed[key] || (!ls.complete && pub <= oldest) {
			continue
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// confirmGone asks the origin for one video: true when it answers 404 or
// 410, false when it still serves it, an error otherwise.
func (l *Library) confirmGone(ctx context.Context, sub subRow, v vanished) (bool, error) {
	if err := l.pace(ctx); err != nil {
		return false, err
	}
	if sub.via == "outbox" {
		if v.iri == "" {
			return false, errors.New("no IRI to ask")
		}
		_, err := l.apClient(ctx, sub.Host).Get(ctx, v.iri)
		switch {
		case errors.Is(err, federation.ErrNotFound) || errors.Is(err, federation.ErrGone):
			return true, nil
		case err != nil:
			return false, err
		}
		return false, nil
	}
	_, _, err := l.restGet(ctx, sub.BaseURL+"/api/v1/videos/"+url.PathEscape(v.uuid), nil)
	var he *peertube.HTTPError
	switch {
	case errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusGone):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("asking for it: %w", err)
	}
	return false, nil
}
