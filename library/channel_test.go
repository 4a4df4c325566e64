package library

import (
	"context"
	"strings"
	"testing"

	"github.com/fourmi-app/fourmi/federation/peertube"
	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

func TestChannelAndAccountCatalogs(t *testing.T) {
	ctx := context.Background()
	s := peertubetest.NewSynthetic(36) // six channels, six videos each
	defer s.Close()
	l := openTest(t, Options{})
	src := instanceSource(t, l, s)
	all, err := l.Fetch(ctx, Query{Source: src, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	v := all.Videos[1]

	// From a video to its channel's catalog; the channel URL gives the scheme
	// (the stand-in speaks plain http).
	ch := ChannelSource(v.Channel)
	if ch.Actor == "" || !strings.HasPrefix(ch.URL, "http://") || ch.Key() != "channel:"+v.Channel.Name+"@"+s.Host() {
		t.Fatalf("channel source = %+v key %q", ch, ch.Key())
	}
	p, err := l.Fetch(ctx, Query{Source: ch, Search: "ignored: channels list, they don't search", Sort: SortMostViewed})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 6 || len(p.Videos) != 6 {
		t.Fatalf("channel page: %d of %d, want 6 of 6", len(p.Videos), p.Total)
	}
	for i, cv := range p.Videos {
		if cv.Channel.Name != v.Channel.Name {
			t.Errorf("video %q is from channel %q", cv.Name, cv.Channel.Name)
		}
		if i > 0 && cv.Views > p.Videos[i-1].Views {
			t.Errorf("not sorted by views: %d after %d", cv.Views, p.Videos[i-1].Views)
		}
	}
	cached, err := l.Cached(ctx, Query{Source: ch, Sort: SortMostViewed})
	if err != nil || strings.Join(uuids(cached.Videos), ",") != strings.Join(uuids(p.Videos), ",") {
		t.Errorf("cached channel page differs: %v", err)
	}

	acct, err := l.Fetch(ctx, Query{Source: AccountSource(v.Account)})
	if err != nil || acct.Total != 6 || acct.Videos[0].Account.Name != v.Account.Name {
		t.Fatalf("account page: %+v, %v", acct, err)
	}

	// A channel the instance does not know: PeerTube answers 404.
	_, err = l.Fetch(ctx, Query{Source: Source{Kind: SourceChannel, Host: s.Host(), Actor: "nobody", URL: s.URL + "/video-channels/nobody"}})
	if !peertube.NotFound(err) {
		t.Errorf("unknown channel: want a 404 error, got %v", err)
	}
	if _, err := l.Fetch(ctx, Query{Source: Source{Kind: SourceChannel, Host: s.Host()}}); err == nil {
		t.Error("a channel source without a name was accepted")
	}
}
