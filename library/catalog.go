package library

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
)

// A catalog query is normalized before use so that Fetch and Cached agree
// on the page they mean:
//   - PageSize 0 → DefaultPageSize, capped at peertube.MaxCount (100);
//   - Search trimmed with inner blanks collapsed (the cache key is lower case);
//   - Sort "" → SortRecent, or SortRelevance when searching; SortRelevance
//     without a search term → SortRecent;
//   - a global source always means the configured search index, whatever
//     Host the caller passed.
func (l *Library) normalize(ctx context.Context, q Query) (Query, pageKey, error) {
	if q.PageSize <= 0 {
		q.PageSize = DefaultPageSize
	}
	q.PageSize = min(q.PageSize, peertube.MaxCount)
	q.Page = max(q.Page, 0)
	q.Search = strings.Join(strings.Fields(q.Search), " ")
	switch q.Sort {
	case "":
		q.Sort = SortRecent
		if q.Search != "" {
			q.Sort = SortRelevance
		}
	case SortRecent, SortTrending, SortMostViewed:
	case SortRelevance:
		if q.Search == "" {
			q.Sort = SortRecent
		}
	default:
		return q, pageKey{}, fmt.Errorf("library: unknown sort %q", q.Sort)
	}
	switch q.Source.Kind {
	case SourceInstance:
		q.Source.Host = peertube.HostOf(q.Source.Host)
		if q.Source.Host == "" {
			return q, pageKey{}, fmt.Errorf("library: an instance source needs a host")
		}
	case SourceGlobal:
		idx, err := l.SearchIndexURL(ctx)
		if err != nil {
			return q, pageKey{}, err
		}
		q.Source.Host = peertube.HostOf(idx)
	case SourceLocal:
		q.Source.Host = ""
	case SourceChannel, SourceAccount:
		q.Source.Host = peertube.HostOf(cmp.Or(q.Source.Host, q.Source.URL))
		if q.Source.Host == "" || q.Source.Actor == "" {
			return q, pageKey{}, fmt.Errorf("library: a %s source needs a host and a name", q.Source.Kind)
		}
		// Their endpoints list; they do not search.
		q.Search = ""
		if q.Sort == SortRelevance {
			q.Sort = SortRecent
		}
	default:
		return q, pageKey{}, fmt.Errorf("library: unknown source kind %q", q.Source.Kind)
	}
	k := pageKey{source: q.Source.Key(), sort: string(q.Sort), search: strings.ToLower(q.Search), page: q.Page, size: q.PageSize}
	return q, k, nil
}

// remoteSort maps a library sort to PeerTube's. Search endpoints (and Sepia
// Search) accept no -trending: trending searches sort by views there.
func remoteSort(s Sort, searchEndpoint bool) peertube.Sort {
	switch s {
	case SortTrending:
		if searchEndpoint {
			return peertube.SortMostViewed
		}
		return peertube.SortTrending
	case SortMostViewed:
		return peertube.SortMostViewed
	case SortRelevance:
		if searchEndpoint {
			return peertube.SortMatch
		}
	}
	return peertube.SortRecent
}

// Cached returns the page as last fetched, from SQLite, without network.
// A page never fetched yields an empty Page with FromCache set. For the
// local source it is the same as Fetch. Videos in a page carry no Files
// (Video and FetchVideo give them).
func (l *Library) Cached(ctx context.Context, q Query) (Page, error) {
	q, k, err := l.normalize(ctx, q)
	if err != nil {
		return Page{FromCache: true}, err
	}
	if q.Source.Kind == SourceLocal {
		return l.localPage(ctx, q)
	}
	p, _, err := readPage(ctx, l.db, k)
	if err != nil {
		return Page{FromCache: true}, fmt.Errorf("library: reading the cache: %w", err)
	}
	p.FromCache = true
	return p, nil
}

// Fetch gets the page from the network and caches it. On any error the cache
// is left as it was.
//
// An instance source lists GET /api/v1/videos, or searches
// /api/v1/search/videos when Search is set. The global source always asks
// the search index's /api/v1/search/videos (Sepia Search serves no
// /api/v1/videos); without a search term the parameter is left out, which
// lists the whole index in the requested order. The local source answers
// from SQLite (FTS5 when searching) with FromCache set.
func (l *Library) Fetch(ctx context.Context, q Query) (Page, error) {
	q, k, err := l.normalize(ctx, q)
	if err != nil {
		return Page{}, err
	}
	if q.Source.Kind == SourceLocal {
		return l.localPage(ctx, q)
	}
	var (
		base    string
		resolve resolver
	)
	if q.Source.Kind == SourceGlobal {
		if base, err = l.SearchIndexURL(ctx); err != nil {
			return Page{}, err
		}
	} else if u, perr := peertube.ParseBase(q.Source.URL); q.Source.URL != "" && perr == nil && u.Host == q.Source.Host {
		base = u.String() // the actor's own page gives the scheme
	} else {
		base, err = l.baseURL(ctx, q.Source.Host)
		if err != nil {
			return Page{}, err
		}
	}
	c, err := l.client(base)
	if err != nil {
		return Page{}, fmt.Errorf("library: %w", err)
	}
	if q.Source.Kind == SourceGlobal {
		resolve = originResolver
	} else {
		resolve = instanceResolver(c)
	}
	searchEndpoint := q.Search != "" || q.Source.Kind == SourceGlobal
	opts := peertube.ListOptions{Start: q.Page * q.PageSize, Count: q.PageSize, Sort: remoteSort(q.Sort, searchEndpoint)}
	var res peertube.Page[peertube.Video]
	switch {
	case q.Source.Kind == SourceChannel:
		res, err = c.ChannelVideos(ctx, q.Source.Actor, opts)
	case q.Source.Kind == SourceAccount:
		res, err = c.AccountVideos(ctx, q.Source.Actor, opts)
	case searchEndpoint:
		res, err = c.Search(ctx, q.Search, opts)
	default:
		res, err = c.Videos(ctx, opts)
	}
	if err != nil {
		return Page{}, fmt.Errorf("library: fetching %s: %w", describeQuery(q), err)
	}
	fetchedAt := l.now()
	videos := make([]Video, 0, len(res.Data))
	seen := make(map[string]bool, len(res.Data))
	for _, pv := range res.Data {
		if seen[pv.UUID] {
			continue
		}
		seen[pv.UUID] = true
		videos = append(videos, convertVideo(pv, c.Host(), resolve))
	}
	listedOn := ""
	if q.Source.Kind != SourceGlobal {
		listedOn = c.Base()
	}
	var page Page
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		w := l.writer(ctx, tx, fetchedAt)
		defer w.close()
		ids, err := w.videos(videos, false)
		if err != nil {
			return err
		}
		if listedOn != "" {
			if err := w.listed(ids, listedOn); err != nil {
				return err
			}
		}
		if err := w.page(k, res.Total, fetchedAt, ids); err != nil {
			return err
		}
		page, _, err = readPage(ctx, tx, k)
		return err
	})
	if err != nil {
		return Page{}, fmt.Errorf("library: caching %s: %w", describeQuery(q), err)
	}
	return page, nil
}

func describeQuery(q Query) string {
	s := q.Source.Key()
	if q.Search != "" {
		s += fmt.Sprintf(" search %q", q.Search)
	}
	return fmt.Sprintf("%s page %d", s, q.Page+1)
}

// baseURL is the stored base URL of an instance, or https://host for one
// not in the list.
func (l *Library) baseURL(ctx context.Context, host string) (string, error) {
	in, err := l.instance(ctx, host)
	if err == nil {
		return in.BaseURL, nil
	}
	u, perr := peertube.ParseBase(host)
	if perr != nil {
		return "", fmt.Errorf("library: %w", perr)
	}
	return u.String(), nil
}

// localPage answers a query from every cached video: FTS5 when searching,
// else all of them in the requested order. FetchedAt stays zero: the rows
// come from many fetches.
func (l *Library) localPage(ctx context.Context, q Query) (Page, error) {
	p := Page{FromCache: true}
	var (
		rows *sql.Rows
		err  error
	)
	offset := q.Page * q.PageSize
	if q.Search == "" {
		if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM videos").Scan(&p.Total); err != nil {
			return p, fmt.Errorf("library: local catalog: %w", err)
		}
		order := "v.published_at DESC, v.id DESC"
		if q.Sort == SortMostViewed || q.Sort == SortTrending {
			order = "v.views DESC, v.published_at DESC, v.id DESC"
		}
		rows, err = l.db.QueryContext(ctx, "SELECT "+videoCols+" FROM videos v"+videoJoins+
			" ORDER BY "+order+" LIMIT ? OFFSET ?", q.PageSize, offset)
	} else {
		match := ftsQuery(q.Search)
		if match == "" {
			return p, nil
		}
		if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM videos_fts WHERE videos_fts MATCH ?", match).Scan(&p.Total); err != nil {
			return p, fmt.Errorf("library: local search: %w", err)
		}
		rows, err = l.db.QueryContext(ctx, searchSQL(q.Sort), match, q.PageSize, offset)
	}
	if err != nil {
		return p, fmt.Errorf("library: local catalog: %w", err)
	}
	if p.Videos, err = collectVideos(rows); err != nil {
		return p, fmt.Errorf("library: local catalog: %w", err)
	}
	return p, nil
}

// resolver turns a path PeerTube returned into an absolute URL; owner is
// the URL of the video or actor the path belongs to.
type resolver func(path, owner string) string

// instanceResolver resolves against the instance that answered: PeerTube
// serves remote videos' thumbnails and avatars from its own cache.
func instanceResolver(c *peertube.Client) resolver {
	return func(p, _ string) string { return c.Abs(p) }
}

// originResolver resolves against the owner's own URL: Sepia Search returns
// paths relative to each video's (or actor's) instance.
func originResolver(p, owner string) string {
	if p == "" {
		return ""
	}
	ref, err := url.Parse(p)
	if err != nil {
		return ""
	}
	if ref.IsAbs() {
		return ref.String()
	}
	base, err := url.Parse(owner)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return ""
	}
	return base.ResolveReference(ref).String()
}

// convertVideo turns a PeerTube video into a library video. answered is the
// host of the server that returned it.
func convertVideo(pv peertube.Video, answered string, resolve resolver) Video {
	origin := peertube.HostOf(pv.URL)
	for _, h := range []string{pv.Channel.Host, pv.Account.Host, answered} {
		if origin != "" {
			break
		}
		origin = strings.ToLower(h)
	}
	v := Video{
		UUID:         pv.UUID,
		URL:          pv.URL,
		Origin:       origin,
		Name:         pv.Name,
		Description:  pv.Description,
		Duration:     time.Duration(max(pv.Duration, 0)) * time.Second,
		Views:        pv.Views,
		Likes:        pv.Likes,
		PublishedAt:  pv.PublishedAt.UTC(),
		ThumbnailURL: resolve(pv.ThumbnailPath, pv.URL),
		PreviewURL:   resolve(pv.PreviewPath, pv.URL),
		Channel:      convertActor(pv.Channel, resolve),
		Account:      convertActor(pv.Account, resolve),
		NSFW:         pv.NSFW,
		IsLive:       pv.IsLive,
		Language:     pv.Language.Label,
	}
	if v.PublishedAt.IsZero() || v.PublishedAt.Year() < 1970 {
		v.PublishedAt = pv.CreatedAt.UTC()
	}
	if v.Description == "" {
		v.Description = pv.TruncatedDescription
	}
	if pv.Category.ID != 0 {
		v.Category = pv.Category.Label
	}
	if pv.Licence.ID != 0 {
		v.Licence = pv.Licence.Label
	}
	if pv.Language.ID == "" {
		v.Language = ""
	}
	return v
}

// convertActor keeps an actor's identity and its smallest avatar of at
// least 48 px (or the largest there is).
func convertActor(a peertube.Actor, resolve resolver) Actor {
	out := Actor{Name: a.Name, DisplayName: a.DisplayName, Host: strings.ToLower(a.Host), URL: a.URL}
	if out.DisplayName == "" {
		out.DisplayName = a.Name
	}
	var best *peertube.Image
	for i := range a.Avatars {
		im := &a.Avatars[i]
		if im.Path == "" && im.FileURL == "" {
			continue
		}
		switch {
		case best == nil:
			best = im
		case best.Width < 48 && im.Width > best.Width:
			best = im
		case im.Width >= 48 && im.Width < best.Width:
			best = im
		}
	}
	if best != nil {
		if best.FileURL != "" {
			out.AvatarURL = best.FileURL
		} else {
			out.AvatarURL = resolve(best.Path, a.URL)
		}
	}
	return out
}
