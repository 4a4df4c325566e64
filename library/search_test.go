package library

import (
	"context"
	"database/sql"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

// storeVideos puts videos straight into the cache as one listing would.
func storeVideos(t testing.TB, l *Library, vs []Video) {
	t.Helper()
	err := l.inTx(context.Background(), func(tx *sql.Tx) error {
		w := l.writer(context.Background(), tx, l.now())
		defer w.close()
		var listed, detailed []Video
		for _, v := range vs {
			if v.DetailsAt.IsZero() {
				listed = append(listed, v)
			} else {
				detailed = append(detailed, v)
			}
		}
		if _, err := w.videos(listed, false); err != nil {
			return err
		}
		_, err := w.videos(detailed, true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func searchFixture(t *testing.T) *Library {
	l := openTest(t, Options{})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(i int, name, desc, chDisp, chName string, tags ...string) Video {
		return Video{
			UUID: "00000000-0000-4000-8000-00000000000" + string(rune('0'+i)), Name: name, Description: desc,
			URL: "https://a.example/w/" + name, Origin: "a.example", PublishedAt: base.Add(time.Duration(i) * time.Hour),
			Views:   int64(100 - i),
			Channel: Actor{Name: chName, DisplayName: chDisp, Host: "a.example"},
			Account: Actor{Name: "owner" + chName, DisplayName: "Owner", Host: "a.example"},
			Tags:    tags, DetailsAt: base,
		}
	}
	storeVideos(t, l, []Video{
		mk(1, "Building a birdhouse", "Wood and nails.", "Maker Space", "makers", "woodwork", "diy"),
		mk(2, "Linux kernel internals", "Scheduling explained.", "Free Software TV", "fstv", "linux", "kernel"),
		mk(3, "Café au lait", "Crème brûlée and coffee.", "Kitchen Lab", "kitchen_lab", "cooking"),
		mk(4, "Astronomy for everyone", "Look at the sky; telescopes.", "Sky Watch", "sky_watch", "astronomy", "telescope"),
		mk(5, "Sourdough bread", "Flour, water, patience.", "Kitchen Lab", "kitchen_lab", "bread", "cooking"),
	})
	return l
}

func names(vs []Video) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

func TestSearchLocal(t *testing.T) {
	ctx := context.Background()
	l := searchFixture(t)
	cases := []struct {
		q    string
		want []string // in any order unless ordered
	}{
		{"birdhouse", []string{"Building a birdhouse"}},
		{"LINUX", []string{"Linux kernel internals"}},                // title word, any case
		{"kitchen lab", []string{"Café au lait", "Sourdough bread"}}, // channel display name
		{"kitchen_lab", []string{"Café au lait", "Sourdough bread"}}, // channel name
		{"telescope", []string{"Astronomy for everyone"}},            // tag (and description)
		{"woodwork", []string{"Building a birdhouse"}},               // tag only
		{"cafe", []string{"Café au lait"}},                           // diacritics folded
		{"creme brulee", []string{"Café au lait"}},                   // description
		{"astro", []string{"Astronomy for everyone"}},                // prefix as you type
		{"sourdough br", []string{"Sourdough bread"}},                // last word partial
		{"kitch", []string{"Café au lait", "Sourdough bread"}},       // partial channel
		{"linux birdhouse", nil},                                     // all words required
		{"zzz", nil},
		{`"foo`, nil},
		{`AND (`, []string{"Building a birdhouse", "Café au lait"}}, // the word "and", not syntax
		{`bread"`, []string{"Sourdough bread"}},
		{`NOT linux`, nil},
		{`name:linux`, nil},
		{`linux OR bread`, nil},
		{`*`, nil},
		{`(`, nil},
		{`"`, nil},
		{`^linux`, []string{"Linux kernel internals"}},
		{`linux -kernel`, []string{"Linux kernel internals"}},
		{"", nil},
		{"   ", nil},
	}
	for _, c := range cases {
		got, err := l.SearchLocal(ctx, c.q, 10)
		if err != nil {
			t.Errorf("SearchLocal(%q): %v", c.q, err)
			continue
		}
		g := names(got)
		slices.Sort(g)
		w := slices.Clone(c.want)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("SearchLocal(%q) = %q, want %q", c.q, g, w)
		}
		// The local source agrees, with a total (an empty search lists all).
		if strings.TrimSpace(c.q) == "" {
			continue
		}
		p, err := l.Fetch(ctx, Query{Source: Source{Kind: SourceLocal}, Search: c.q})
		if err != nil || p.Total != len(c.want) || len(p.Videos) != len(c.want) || !p.FromCache {
			t.Errorf("local Fetch(%q): total %d, %d videos, %v", c.q, p.Total, len(p.Videos), err)
		}
	}
	// A title match ranks above a description-only match.
	storeVideos(t, l, []Video{{UUID: "00000000-0000-4000-8000-000000000009", Name: "Notes", Description: "about bread",
		PublishedAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Tags: []string{"misc"}}})
	got, _ := l.SearchLocal(ctx, "bread", 10)
	if len(got) != 2 || got[0].Name != "Sourdough bread" {
		t.Errorf("ranking: %q", names(got))
	}
	checkFTS(t, l)
}

func TestLocalSourceListing(t *testing.T) {
	ctx := context.Background()
	l := searchFixture(t)
	local := Source{Kind: SourceLocal}
	p, err := l.Fetch(ctx, Query{Source: local, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 5 || !reflect.DeepEqual(names(p.Videos), []string{"Sourdough bread", "Astronomy for everyone"}) || !p.FromCache {
		t.Errorf("local page 1: %d %q", p.Total, names(p.Videos))
	}
	p, _ = l.Cached(ctx, Query{Source: local, PageSize: 2, Page: 2})
	if !reflect.DeepEqual(names(p.Videos), []string{"Building a birdhouse"}) {
		t.Errorf("local page 3: %q", names(p.Videos))
	}
	p, _ = l.Fetch(ctx, Query{Source: local, Sort: SortMostViewed, PageSize: 1})
	if !reflect.DeepEqual(names(p.Videos), []string{"Building a birdhouse"}) {
		t.Errorf("most viewed: %q", names(p.Videos))
	}
	p, _ = l.Fetch(ctx, Query{Source: local, Search: "kitchen", Sort: SortRecent})
	if !reflect.DeepEqual(names(p.Videos), []string{"Sourdough bread", "Café au lait"}) {
		t.Errorf("search by date: %q", names(p.Videos))
	}
}

func TestSearchFollowsRenamedChannel(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(0)
	defer s.Close()
	d := peertubetest.SyntheticVideo(s.URL, 0)
	serve := func(display string) {
		d.Channel.DisplayName = display
		recordQueries(s, "/api/v1/videos", []peertube.VideoDetails{d})
	}
	serve("Old Name")
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	if _, err := l.Fetch(ctx, Query{Source: src}); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.SearchLocal(ctx, "old name", 5); len(got) != 1 {
		t.Fatalf("by old channel name: %d", len(got))
	}
	d.Views, d.Name = 777, "Renamed video"
	serve("Brand New")
	p, err := l.Fetch(ctx, Query{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Videos[0]; v.Views != 777 || v.Name != "Renamed video" || v.Channel.DisplayName != "Brand New" {
		t.Errorf("changes not stored: %+v", v)
	}
	if got, _ := l.SearchLocal(ctx, "renamed", 5); len(got) != 1 {
		t.Errorf("new title not searchable")
	}
	checkFTS(t, l)
	if got, _ := l.SearchLocal(ctx, "old name", 5); len(got) != 0 {
		t.Errorf("old channel name still found")
	}
	if got, _ := l.SearchLocal(ctx, "brand new", 5); len(got) != 1 || got[0].Channel.DisplayName != "Brand New" {
		t.Errorf("renamed channel not found: %+v", got)
	}
}

func TestFTSQuery(t *testing.T) {
	for in, want := range map[string]string{
		"linux":                  `"linux"*`,
		"free  software":         `"free" "software"*`,
		`"foo`:                   `"foo"*`,
		`AND (`:                  `"AND"*`,
		"col:val":                `"col" "val"*`,
		"l'été":                  `"l" "été"*`,
		"":                       "",
		"()*\"":                  "",
		strings.Repeat("a ", 40): strings.TrimSuffix(strings.Repeat(`"a" `, 16), " ") + "*",
	} {
		if got := ftsQuery(in); got != want {
			t.Errorf("ftsQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkFTS runs FTS5's integrity check: the index matches its content, and
// nothing is left pending.
func checkFTS(t *testing.T, l *Library) {
	t.Helper()
	if _, err := l.db.Exec("INSERT INTO videos_fts (videos_fts, rank) VALUES ('integrity-check', 1)"); err != nil {
		t.Errorf("FTS integrity: %v", err)
	}
	var pending, indexed, videos int
	l.db.QueryRow("SELECT count(*) FROM fts_pending").Scan(&pending)
	l.db.QueryRow("SELECT count(*) FROM videos_fts").Scan(&indexed)
	l.db.QueryRow("SELECT count(*) FROM videos").Scan(&videos)
	if pending != 0 || indexed != videos {
		t.Errorf("FTS: %d pending, %d indexed for %d videos", pending, indexed, videos)
	}
}
