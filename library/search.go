package library

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// maxSearchWords bounds the terms of one local search.
const maxSearchWords = 16

// ftsQuery turns what a person typed into a safe FTS5 query: every word
// (letters, digits and combining marks, as the unicode61 tokenizer sees
// them) becomes a quoted string, all of them required, the last one
// prefix-matched so that results follow typing. FTS5 syntax in the input
// ("AND", quotes, parentheses, stars, column filters) has no effect. ""
// means nothing to search for.
func ftsQuery(text string) string {
	words := strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.In(r, unicode.Mn, unicode.Mc)
	})
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		// Words hold no quote characters, so quoting needs no escaping.
		b.WriteByte('"')
		b.WriteString(w)
		b.WriteByte('"')
		if i == len(words)-1 {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// searchSQL selects one page of FTS matches (arguments: match, limit,
// offset). By relevance, FTS5 ranks and pages the matches before any
// video row is read (bm25 weighting the title most, then tags, channel,
// account, description); by date or views the
// videos' indexes are walked in order and checked against the matches.
func searchSQL(s Sort) string {
	switch s {
	case SortRecent, SortMostViewed, SortTrending:
		order := "v.published_at DESC, v.id DESC"
		if s != SortRecent {
			order = "v.views DESC, v.published_at DESC, v.id DESC"
		}
		return "SELECT " + videoCols + " FROM videos v" + videoJoins +
			" WHERE v.id IN (SELECT rowid FROM videos_fts WHERE videos_fts MATCH ?) ORDER BY " + order + " LIMIT ? OFFSET ?"
	}
	return "SELECT " + videoCols + ` FROM (SELECT rowid AS id, bm25(videos_fts, 10.0, 1.0, 4.0, 2.0, 5.0) AS r
		FROM videos_fts WHERE videos_fts MATCH ? ORDER BY r LIMIT ? OFFSET ?) m
		JOIN videos v ON v.id = m.id` + videoJoins + " ORDER BY m.r, v.id DESC"
}

// SearchLocal searches every cached video with FTS5, best match first.
// limit ≤ 0 means 50. Input is never FTS5 syntax: see Query.Search.
func (l *Library) SearchLocal(ctx context.Context, text string, limit int) ([]Video, error) {
	if limit <= 0 {
		limit = 50
	}
	match := ftsQuery(text)
	if match == "" {
		return nil, nil
	}
	rows, err := l.db.QueryContext(ctx, searchSQL(SortRelevance), match, limit, 0)
	if err != nil {
		return nil, fmt.Errorf("library: local search: %w", err)
	}
	vs, err := collectVideos(rows)
	if err != nil {
		return nil, fmt.Errorf("library: local search: %w", err)
	}
	return vs, nil
}
