package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// nearEnd reports whether pos is in the last 5 % of dur: the video counts
// as watched, and a new play starts from the beginning.
func nearEnd(pos, dur time.Duration) bool {
	return dur > 0 && pos >= dur*95/100
}

// saveHistory records where the user is in a video. watched is sticky: a
// video played to the end once stays watched.
func (l *Library) saveHistory(ctx context.Context, uuid string, pos, dur time.Duration, watched bool) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO history (video_uuid, position_ms, duration_ms, watched, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (video_uuid) DO UPDATE SET position_ms = excluded.position_ms,
				duration_ms = CASE WHEN excluded.duration_ms > 0 THEN excluded.duration_ms ELSE history.duration_ms END,
				watched = history.watched OR excluded.watched, updated_at = excluded.updated_at`,
			uuid, pos.Milliseconds(), dur.Milliseconds(), watched, ms(l.now()))
		return err
	})
}

// resumePosition is where a new play of the video starts: where the user
// stopped, or the beginning when they had reached the end.
func (l *Library) resumePosition(ctx context.Context, uuid string) (time.Duration, error) {
	var posMS, durMS int64
	err := l.db.QueryRowContext(ctx, "SELECT position_ms, duration_ms FROM history WHERE video_uuid = ?", uuid).Scan(&posMS, &durMS)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pos, dur := time.Duration(posMS)*time.Millisecond, time.Duration(durMS)*time.Millisecond
	if nearEnd(pos, dur) {
		return 0, nil
	}
	return pos, nil
}

// touchWatched stamps a transfer as just watched (disk budget recency).
func (l *Library) touchWatched(ctx context.Context, ih string) error {
	return l.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE transfers SET last_watched_at = ? WHERE infohash = ?", ms(l.now()), ih)
		return err
	})
}

// history reads history entries, most recent first; where is an extra
// condition on h.
func (l *Library) history(ctx context.Context, where string, limit int) ([]HistoryEntry, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	q := `SELECT h.position_ms, h.duration_ms, h.watched, h.updated_at, ` + videoCols + `
		FROM history h JOIN videos v ON v.uuid = h.video_uuid` + videoJoins
	if where != "" {
		q += " WHERE " + where
	}
	q += " ORDER BY h.updated_at DESC, h.video_uuid LIMIT ?"
	rows, err := l.db.QueryContext(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("library: reading history: %w", err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var e HistoryEntry
		var posMS, durMS, upd int64
		if _, e.Video, err = scanVideo(rows, &posMS, &durMS, &e.Watched, &upd); err != nil {
			return nil, fmt.Errorf("library: reading history: %w", err)
		}
		e.Position = time.Duration(posMS) * time.Millisecond
		e.Duration = time.Duration(durMS) * time.Millisecond
		if e.Duration == 0 {
			e.Duration = e.Video.Duration
		}
		e.UpdatedAt = fromMS(upd)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("library: reading history: %w", err)
	}
	return out, nil
}

// ContinueWatching lists videos started but not finished, most recent first:
// a position past the start and before the last 5 %.
func (l *Library) ContinueWatching(ctx context.Context, limit int) ([]HistoryEntry, error) {
	return l.history(ctx, `h.position_ms > 0 AND (h.duration_ms = 0 OR h.position_ms * 100 < h.duration_ms * 95)`, limit)
}

// History lists every video played, most recent first.
func (l *Library) History(ctx context.Context, limit int) ([]HistoryEntry, error) {
	return l.history(ctx, "", limit)
}

// RemoveFromHistory forgets one video's history entry (ErrNotFound if the
// video has none).
func (l *Library) RemoveFromHistory(ctx context.Context, uuid string) error {
	uuid = strings.TrimSpace(uuid)
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM history WHERE video_uuid = ?", uuid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("history of video %s: %w", uuid, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("library: %w", err)
	}
	return nil
}
