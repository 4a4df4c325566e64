package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/fourmi-app/fourmi/federation/peertube"
)

// Video returns a cached video (ErrNotFound if unknown).
func (l *Library) Video(ctx context.Context, uuid string) (Video, error) {
	v, err := videoByUUID(ctx, l.db, strings.TrimSpace(uuid))
	if err != nil {
		return Video{}, fmt.Errorf("library: %w", err)
	}
	return v, nil
}

// FetchVideo fetches a video's details (files, tags, full description) from
// its origin (falling back to the instance it was listed on) and caches them.
// The video must be in the library (ErrNotFound otherwise): a listing is what
// says where to ask. On any error the cache is left as it was.
func (l *Library) FetchVideo(ctx context.Context, uuid string) (Video, error) {
	uuid = strings.TrimSpace(uuid)
	var (
		id           int64
		vurl         string
		origin       string
		candidates   []string
		seen         = map[string]bool{}
		addCandidate = func(base string) {
			if base != "" && !seen[base] {
				seen[base] = true
				candidates = append(candidates, base)
			}
		}
	)
	err := l.db.QueryRowContext(ctx, "SELECT id, url, origin FROM videos WHERE uuid = ?", uuid).Scan(&id, &vurl, &origin)
	if errors.Is(err, sql.ErrNoRows) {
		return Video{}, fmt.Errorf("library: video %s: %w", uuid, ErrNotFound)
	}
	if err != nil {
		return Video{}, fmt.Errorf("library: video %s: %w", uuid, err)
	}
	if origin != "" {
		scheme := "https"
		if u, err := url.Parse(vurl); err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, origin) {
			scheme = u.Scheme
		}
		addCandidate(scheme + "://" + origin)
	}
	rows, err := l.db.QueryContext(ctx, "SELECT base_url FROM video_listings WHERE video_id = ? ORDER BY seen_at DESC", id)
	if err != nil {
		return Video{}, fmt.Errorf("library: video %s: %w", uuid, err)
	}
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return Video{}, fmt.Errorf("library: video %s: %w", uuid, err)
		}
		addCandidate(b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Video{}, fmt.Errorf("library: video %s: %w", uuid, err)
	}

	var (
		errs []error
		v    Video
		ok   bool
	)
	for _, base := range candidates {
		v, err = l.fetchDetails(ctx, base, uuid)
		if err == nil {
			ok = true
			break
		}
		if ctx.Err() != nil {
			return Video{}, fmt.Errorf("library: fetching video %s: %w", uuid, ctx.Err())
		}
		l.log.Debug("video details unavailable", "uuid", uuid, "from", base, "err", err)
		errs = append(errs, err)
	}
	if !ok {
		if len(errs) == 0 {
			return Video{}, fmt.Errorf("library: video %s: no instance to ask for it", uuid)
		}
		return Video{}, fmt.Errorf("library: fetching video %s: %w", uuid, errors.Join(errs...))
	}
	return l.cacheDetails(ctx, uuid, v, "")
}

// cacheDetails stores a video's details and files in one transaction, and
// that it is listed on the instance at listedOn when that is not empty. It
// returns the video as the cache now has it.
func (l *Library) cacheDetails(ctx context.Context, uuid string, v Video, listedOn string) (Video, error) {
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		w := l.writer(ctx, tx, v.DetailsAt)
		defer w.close()
		ids, err := w.videos([]Video{v}, true)
		if err != nil {
			return err
		}
		if err := w.files(ids[0], v.Files); err != nil {
			return err
		}
		if listedOn != "" {
			if err := w.listed(ids, listedOn); err != nil {
				return err
			}
		}
		v, err = videoByUUID(ctx, tx, uuid)
		return err
	})
	if err != nil {
		return Video{}, fmt.Errorf("library: caching video %s: %w", uuid, err)
	}
	return v, nil
}

// fetchDetails asks the instance at base for a video's details.
func (l *Library) fetchDetails(ctx context.Context, base, uuid string) (Video, error) {
	c, err := l.client(base)
	if err != nil {
		return Video{}, err
	}
	d, err := c.Video(ctx, uuid)
	if err != nil {
		return Video{}, err
	}
	if d.UUID != uuid {
		return Video{}, fmt.Errorf("%s answered for video %s instead of %s", c.Host(), d.UUID, uuid)
	}
	resolve := instanceResolver(c)
	v := convertVideo(d.Video, c.Host(), resolve)
	if looksTruncated(v.Description) || (d.Description == "" && d.TruncatedDescription != "") {
		full, err := c.Description(ctx, uuid)
		switch {
		case err != nil:
			l.log.Debug("full description unavailable", "uuid", uuid, "err", err)
		case utf8.RuneCountInString(full) > utf8.RuneCountInString(v.Description):
			v.Description = full
		}
	}
	for _, t := range d.Tags {
		if t = strings.TrimSpace(t); t != "" {
			v.Tags = append(v.Tags, t)
		}
	}
	v.Support = d.Support
	for _, f := range d.Files {
		v.Files = append(v.Files, convertFile(f, false, c))
	}
	for _, p := range d.StreamingPlaylists {
		for _, f := range p.Files {
			v.Files = append(v.Files, convertFile(f, true, c))
		}
	}
	v.DetailsAt = l.now()
	return v, nil
}

// looksTruncated reports whether a description looks cut by the server
// (older PeerTube cut details' descriptions at 250 characters with "...").
func looksTruncated(s string) bool {
	return strings.HasSuffix(s, "...") || strings.HasSuffix(s, "…")
}

func convertFile(f peertube.VideoFile, hls bool, c *peertube.Client) VideoFile {
	out := VideoFile{
		Resolution: max(f.Resolution.ID, 0),
		Label:      f.Resolution.Label,
		Width:      f.Width,
		Height:     f.Height,
		Size:       f.Size,
		FPS:        f.FPS,
		TorrentURL: c.Abs(f.TorrentURL),
		MagnetURI:  f.MagnetURI,
		FileURL:    c.Abs(f.FileURL),
		HLS:        hls,
	}
	if out.Height == 0 && out.Resolution > 0 {
		out.Height = out.Resolution
	}
	return out
}
