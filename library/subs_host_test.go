package library

import (
	"database/sql"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// subsHostLib is a started library for hosting tests with a quick poll gap.
func subsHostLib(t testing.TB) *Library {
	o := publishOpts(t.TempDir())
	o.SubscriptionRequestGap = time.Millisecond
	o.SeedCheckInterval = 200 * time.Millisecond
	return startPublishLib(t, o)
}

// Two hosting Fourmi instances: B subscribes to A's channel (a real Follow,
// accepted); A publishes, edits and deletes, and B's feed follows live;
// with MirrorLatest 1, B downloads and seeds the video, serves it as a
// redundancy and announces Create{CacheFile} to A, which records it;
// evicting the copy sends the Undo; unsubscribing undoes the Follow.
func TestSubsHostingFeedAndMirror(t *testing.T) {
	needFFmpeg(t)
	ctx := testCtx(t)
	a := subsHostLib(t)
	b := subsHostLib(t)
	ca := loopbackHost(t, "alice", "alice_videos")
	cb := loopbackHost(t, "bob", "bob_channel")
	startHosting(t, a, ca)
	startHosting(t, b, cb)
	var evs feedEvents
	defer b.SubscribeFeed(evs.add)()

	hostA := strings.TrimPrefix(ca.PublicURL, "http://")
	sub, err := b.Subscribe(ctx, "alice_videos@"+hostA)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if sub.Actor != ca.PublicURL+"/video-channels/alice_videos" || sub.Kind != SubscriptionChannel {
		t.Fatalf("subscription: %+v", sub)
	}
	waitFor(t, "A to accept B's follow", func() bool {
		fs, _ := a.HostFollowers(ctx)
		return len(fs) == 1 && fs[0].Actor == cb.PublicURL+"/accounts/bob" && fs[0].State == FollowerAccepted
	})
	waitFor(t, "the Accept in B's subscription", func() bool {
		s, err := b.SubscriptionByHandle(ctx, sub.Actor)
		return err == nil && s.Following == FollowingAccepted
	})
	waitFor(t, "B's first (empty) poll", func() bool {
		s, _ := b.SubscriptionByHandle(ctx, sub.Actor)
		return !s.LastPoll.IsZero() && s.State == SubscriptionOK
	})

	// A publishes: the video reaches B's feed through the inbox, unseen.
	meta := testMeta("Otters of the river")
	v, err := publishWait(t, a, PublishRequest{File: genH264MP4(t, t.TempDir()), Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the video in B's feed", func() bool {
		feed, _ := b.Feed(ctx, 10)
		return len(feed) == 1 && feed[0].Video.UUID == v.UUID && feed[0].Unseen && feed[0].Subscription.ID == sub.ID
	})
	waitFor(t, "the new-video event", func() bool { return evs.has(FeedNew, v.UUID) })
	if n, _ := b.UnseenCount(ctx); n != 1 {
		t.Fatalf("unseen = %d", n)
	}

	// A edits the title: B's feed shows the new one.
	meta.Title = "Otters of the big river"
	if _, err := a.UpdateMyVideo(ctx, v.UUID, meta); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new title in B's feed", func() bool {
		feed, _ := b.Feed(ctx, 10)
		return len(feed) == 1 && feed[0].Video.Name == meta.Title
	})
	waitFor(t, "the update event", func() bool { return evs.has(FeedUpdated, v.UUID) })

	// Mirroring the latest video: downloaded, seeded, served, announced.
	if err := b.SetMirrorLatest(ctx, sub.ID, 1); err != nil {
		t.Fatalf("SetMirrorLatest: %v", err)
	}
	var ih string
	if err := b.db.QueryRowContext(ctx, "SELECT infohash FROM mirrors WHERE video_uuid = ?", v.UUID).Scan(&ih); err != nil {
		t.Fatalf("no mirror row: %v", err)
	}
	waitFor(t, "the mirror downloaded and seeding", func() bool {
		tr, err := b.TransferByHash(ctx, ih)
		return err == nil && tr.State == StateSeeding
	})
	var sent []byte
	if err := b.db.QueryRowContext(ctx, "SELECT cache_file FROM mirrors WHERE video_uuid = ?", v.UUID).Scan(&sent); err != nil || len(sent) == 0 {
		t.Fatalf("no CacheFile announced: %v", err)
	}
	var create federation.Activity
	if err := json.Unmarshal(sent, &create); err != nil {
		t.Fatal(err)
	}
	if err := federation.ValidateActivity(&create, federation.ValidateOptions{AllowLocalhost: true, Strict: true}); err != nil {
		t.Fatalf("Create{CacheFile} does not validate: %v\n%s", err, sent)
	}
	var cf federation.CacheFile
	if err := json.Unmarshal(create.Object.Raw, &cf); err != nil {
		t.Fatal(err)
	}
	if err := federation.ValidateCacheFile(&cf, federation.ValidateOptions{AllowLocalhost: true}); err != nil {
		t.Fatalf("CacheFile: %v", err)
	}
	if create.ActorIRI() != cb.PublicURL+"/accounts/peertube" || cf.Object != ca.PublicURL+"/videos/watch/"+v.UUID ||
		!strings.HasPrefix(cf.URL.Href, cb.PublicURL+"/static/redundancy/") || cf.URL.Size != v.Best().Size {
		t.Fatalf("CacheFile: actor %s, %+v", create.ActorIRI(), cf)
	}
	waitFor(t, "A to record B's mirror", func() bool {
		ms, _ := a.MirroredBy(ctx, v.UUID)
		return len(ms) == 1 && ms[0].Actor == cb.PublicURL+"/accounts/peertube" && ms[0].FileURL == cf.URL.Href
	})
	// B serves the mirrored file where it said, the bytes of A's file.
	body, err := httpGet(ctx, cf.URL.Href, "")
	if err != nil {
		t.Fatalf("the mirror's URL: %v", err)
	}
	want, err := os.ReadFile(v.Best().Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(want) {
		t.Fatalf("the mirror serves %d bytes, A's file has %d", len(body), len(want))
	}

	// Evicted (removed from the downloads): Undo at A, and not mirrored again.
	if err := b.RemoveTransfer(ctx, ih, true); err != nil {
		t.Fatal(err)
	}
	if err := b.RefreshSubscriptions(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	waitFor(t, "A to drop B's mirror (Undo)", func() bool {
		ms, _ := a.MirroredBy(ctx, v.UUID)
		return len(ms) == 0
	})
	if err := b.syncMirrors(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.TransferByHash(ctx, ih); err == nil {
		t.Fatal("an evicted mirror was downloaded again")
	}
	if resp, _, err := getAP(ctx, cf.URL.Href); err != nil || resp.StatusCode != 404 {
		t.Fatalf("an evicted mirror is still served: %v %v", resp, err)
	}

	// A deletes the video: it leaves B's feed.
	if err := a.DeleteMyVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the video out of B's feed", func() bool {
		feed, _ := b.Feed(ctx, 10)
		return len(feed) == 0
	})
	waitFor(t, "the removal event", func() bool { return evs.has(FeedRemoved, v.UUID) })

	// Unsubscribing undoes the Follow.
	if err := b.Unsubscribe(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to lose its follower", func() bool {
		fs, _ := a.HostFollowers(ctx)
		return len(fs) == 0
	})
	if fs, _ := b.Following(ctx); len(fs) != 0 {
		t.Fatalf("B still follows: %+v", fs)
	}
	var n int
	if err := b.db.QueryRowContext(ctx, "SELECT count(*) FROM mirrors").Scan(&n); err != nil && err != sql.ErrNoRows || n != 0 {
		t.Fatalf("mirrors left: %d %v", n, err)
	}
}

// A mirror's CacheFile expires after MirrorLifetime: B refreshes it with
// Update{CacheFile} (same id, a later expires) before half of it is left,
// A's inbox validates and accepts the Update and extends its record; once
// B stops hosting (no more refreshes), A stops listing the mirror when it
// expires.
func TestSubsMirrorExpiryRefresh(t *testing.T) {
	needFFmpeg(t)
	ctx := testCtx(t)
	a := subsHostLib(t)
	ob := publishOpts(t.TempDir())
	ob.SubscriptionRequestGap = time.Millisecond
	ob.SeedCheckInterval = 200 * time.Millisecond
	ob.MirrorLifetime = 6 * time.Second
	if os.Getenv("FOURMI_LIBRARY_DEBUG") != "" {
		ob.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b := startPublishLib(t, ob)
	ca := loopbackHost(t, "alice", "alice_videos")
	cb := loopbackHost(t, "bob", "bob_channel")
	startHosting(t, a, ca)
	startHosting(t, b, cb)

	v, err := publishWait(t, a, PublishRequest{File: genH264MP4(t, t.TempDir()), Meta: testMeta("Beavers at work")})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := b.Subscribe(ctx, "alice_videos@"+strings.TrimPrefix(ca.PublicURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the video in B's feed", func() bool {
		if err := b.RefreshSubscriptions(ctx); err != nil {
			return false
		}
		feed, _ := b.Feed(ctx, 10)
		return len(feed) == 1 && feed[0].Video.UUID == v.UUID
	})
	if err := b.SetMirrorLatest(ctx, sub.ID, 1); err != nil {
		t.Fatal(err)
	}
	var first Mirror
	waitFor(t, "A to record B's mirror with an expiry", func() bool {
		ms, _ := a.MirroredBy(ctx, v.UUID)
		if len(ms) != 1 || ms[0].Expires.IsZero() {
			return false
		}
		first = ms[0]
		return true
	})
	if d := time.Until(first.Expires); d > ob.MirrorLifetime+time.Second || d < -time.Second {
		t.Fatalf("the announced mirror expires in %v, lifetime %v", d, ob.MirrorLifetime)
	}
	// The refresh: same CacheFile id, a later expiry, recorded by A.
	var refreshed Mirror
	waitFor(t, "A to record the refreshed expiry", func() bool {
		ms, _ := a.MirroredBy(ctx, v.UUID)
		if len(ms) != 1 || !ms[0].Expires.After(first.Expires) {
			return false
		}
		refreshed = ms[0]
		return true
	})
	if refreshed.CacheFile != first.CacheFile || refreshed.Actor != first.Actor || refreshed.FileURL != first.FileURL {
		t.Fatalf("the refresh changed the mirror: %+v, was %+v", refreshed, first)
	}
	var (
		recorded []byte
		bExpires int64
		stored   []byte
	)
	if err := a.db.QueryRowContext(ctx, "SELECT json FROM mirrored_by WHERE cache_file = ?", first.CacheFile).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	var cf federation.CacheFile
	if err := json.Unmarshal(recorded, &cf); err != nil {
		t.Fatal(err)
	}
	if err := federation.ValidateCacheFile(&cf, federation.ValidateOptions{AllowLocalhost: true}); err != nil {
		t.Fatalf("the refreshed CacheFile: %v", err)
	}
	if err := b.db.QueryRowContext(ctx, "SELECT expires, cache_file FROM mirrors WHERE video_uuid = ?", v.UUID).Scan(&bExpires, &stored); err != nil {
		t.Fatal(err)
	}
	// B keeps the renewed CacheFile for its Undo.
	var create federation.Activity
	if err := json.Unmarshal(stored, &create); err != nil {
		t.Fatal(err)
	}
	var kept federation.CacheFile
	if err := json.Unmarshal(create.Object.Raw, &kept); err != nil {
		t.Fatal(err)
	}
	if exp, err := time.Parse(time.RFC3339, kept.Expires); err != nil || exp.Before(refreshed.Expires) || fromMS(bExpires).Before(refreshed.Expires) {
		t.Fatalf("B's stored mirror: expires %s (%v), column %v; A has %v", kept.Expires, err, fromMS(bExpires), refreshed.Expires)
	}

	// No more refreshes: A stops listing the mirror once it expired.
	if err := b.StopHosting(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the expired mirror out of A's list", func() bool {
		ms, _ := a.MirroredBy(ctx, v.UUID)
		return len(ms) == 0
	})
	if time.Now().Before(refreshed.Expires) {
		// The last refresh may have landed after the one read above.
		var n int
		a.db.QueryRowContext(ctx, "SELECT count(*) FROM mirrored_by WHERE expires > ?", ms(time.Now())).Scan(&n)
		if n != 0 {
			t.Fatal("A dropped a mirror before it expired")
		}
	}
}
