// Package storetest is the contract every server.Store implementation must
// pass: MemStore (the reference) and library's SQLite store run the same
// StoreContractTest.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/server"
)

// StoreContractTest runs the Store contract against fresh stores made by
// newStore (one per subtest).
func StoreContractTest(t *testing.T, newStore func(t *testing.T) server.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

	t.Run("Instance", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Instance(ctx); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("empty store: want ErrNotFound, got %v", err)
		}
		in := server.Instance{BaseURL: "https://tube.example", Name: "Mine", AccountName: "alice", AccountDisplayName: "Alice",
			ChannelName: "alice_channel", ChannelDisplayName: "Alice's", ChannelDescription: "Videos", AvatarPath: "/tmp/a.jpg",
			Trackers: []string{"https://tube.example/tracker/announce"}, Created: t0}
		if err := s.SaveInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.Instance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.BaseURL != in.BaseURL || got.ChannelDescription != in.ChannelDescription || len(got.Trackers) != 1 || !got.Created.Equal(t0) || got.AvatarPath != in.AvatarPath {
			t.Fatalf("instance round trip: got %+v", got)
		}
		got.Trackers[0] = "mutated"
		again, _ := s.Instance(ctx)
		if again.Trackers[0] == "mutated" {
			t.Fatal("Instance returned shared memory")
		}
		in.Name = "Renamed"
		if err := s.SaveInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Instance(ctx); got.Name != "Renamed" {
			t.Fatalf("SaveInstance did not replace: %q", got.Name)
		}
	})

	t.Run("ActorKeys", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.ActorKey(ctx, server.RoleAccount); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
		k, err := s.PutActorKeyIfAbsent(ctx, server.RoleAccount, "PEM-1")
		if err != nil || k != "PEM-1" {
			t.Fatalf("first put: %q %v", k, err)
		}
		k, err = s.PutActorKeyIfAbsent(ctx, server.RoleAccount, "PEM-2")
		if err != nil || k != "PEM-1" {
			t.Fatalf("second put must keep the first key: %q %v", k, err)
		}
		if k, _ := s.ActorKey(ctx, server.RoleAccount); k != "PEM-1" {
			t.Fatalf("ActorKey = %q", k)
		}
		if _, err := s.ActorKey(ctx, server.RoleChannel); !errors.Is(err, server.ErrNotFound) {
			t.Fatal("roles are independent")
		}
		// Racing writers all see the same winner.
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], _ = s.PutActorKeyIfAbsent(ctx, server.RoleInstance, fmt.Sprintf("PEM-%d", i))
			}()
		}
		wg.Wait()
		for _, g := range got {
			if g != got[0] || g == "" {
				t.Fatalf("racing PutActorKeyIfAbsent disagree: %v", got)
			}
		}
	})

	t.Run("LocalVideos", func(t *testing.T) {
		s := newStore(t)
		mk := func(uuid, name string, pub time.Time, views int64, privacy int, tags ...string) server.LocalVideo {
			return server.LocalVideo{UUID: uuid, Name: name, Description: "about " + name, Duration: 10, Published: pub, Updated: pub,
				Views: views, Tags: tags, Privacy: privacy, Category: 15, Licence: 1, Language: "en",
				Files:     []server.VideoFile{{Resolution: 360, Width: 640, Height: 360, FPS: 25, Size: 1000, Path: "/v/" + uuid + ".mp4", InfoHash: "0123456789abcdef0123456789abcdef01234567", TorrentPath: "/t/" + uuid + ".torrent"}},
				Thumbnail: server.ImageFile{Path: "/th/" + uuid + ".jpg", Width: 280, Height: 157}}
		}
		a, err := s.PutLocalVideo(ctx, mk("11111111-1111-4111-8111-111111111111", "Alpha river", t0, 5, server.PrivacyPublic, "nature"))
		if err != nil {
			t.Fatal(err)
		}
		if a.ID <= 0 {
			t.Fatalf("no ID assigned: %d", a.ID)
		}
		b, _ := s.PutLocalVideo(ctx, mk("22222222-2222-4222-8222-222222222222", "Beta city", t0.Add(time.Hour), 50, server.PrivacyPublic, "urban"))
		c, _ := s.PutLocalVideo(ctx, mk("33333333-3333-4333-8333-333333333333", "Gamma secret", t0.Add(2*time.Hour), 1, server.PrivacyUnlisted))
		if a.ID == b.ID || b.ID == c.ID {
			t.Fatal("IDs must be unique")
		}
		// Replace keeps the ID.
		a2 := a
		a2.ID = 0
		a2.Name = "Alpha river (edited)"
		a2.Updated = t0.Add(3 * time.Hour)
		a2, err = s.PutLocalVideo(ctx, a2)
		if err != nil || a2.ID != a.ID {
			t.Fatalf("replace changed the ID: %d→%d %v", a.ID, a2.ID, err)
		}
		got, err := s.LocalVideo(ctx, a.UUID)
		if err != nil || got.Name != "Alpha river (edited)" || len(got.Files) != 1 || got.Files[0].InfoHash != a.Files[0].InfoHash ||
			!got.Updated.Equal(t0.Add(3*time.Hour)) || got.Thumbnail.Width != 280 || got.Tags[0] != "nature" {
			t.Fatalf("LocalVideo round trip: %+v %v", got, err)
		}
		if _, err := s.LocalVideo(ctx, "44444444-4444-4444-8444-444444444444"); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("missing video: %v", err)
		}
		list, total, err := s.LocalVideos(ctx, server.VideoQuery{})
		if err != nil || total != 2 || len(list) != 2 || list[0].UUID != b.UUID {
			t.Fatalf("public list, newest first: total %d %v %v", total, names(list), err)
		}
		list, total, _ = s.LocalVideos(ctx, server.VideoQuery{AllPrivacies: true})
		if total != 3 || list[0].UUID != c.UUID {
			t.Fatalf("all privacies: %d %v", total, names(list))
		}
		list, total, _ = s.LocalVideos(ctx, server.VideoQuery{Sort: "-views"})
		if total != 2 || list[0].UUID != b.UUID {
			t.Fatalf("-views: %v", names(list))
		}
		list, _, _ = s.LocalVideos(ctx, server.VideoQuery{Sort: "publishedAt"})
		if list[0].UUID != a.UUID {
			t.Fatalf("publishedAt: %v", names(list))
		}
		list, total, _ = s.LocalVideos(ctx, server.VideoQuery{Start: 1, Count: 1})
		if total != 2 || len(list) != 1 || list[0].UUID != a.UUID {
			t.Fatalf("paging: total %d %v", total, names(list))
		}
		list, total, _ = s.LocalVideos(ctx, server.VideoQuery{Start: 5, Count: 1})
		if total != 2 || len(list) != 0 {
			t.Fatalf("past the end: total %d %v", total, names(list))
		}
		list, total, _ = s.LocalVideos(ctx, server.VideoQuery{Search: "CITY"})
		if total != 1 || list[0].UUID != b.UUID {
			t.Fatalf("search by name: %v", names(list))
		}
		list, _, _ = s.LocalVideos(ctx, server.VideoQuery{Search: "nature"})
		if len(list) != 1 || list[0].UUID != a.UUID {
			t.Fatalf("search by tag: %v", names(list))
		}
		if err := s.DeleteLocalVideo(ctx, a.UUID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteLocalVideo(ctx, a.UUID); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if _, total, _ := s.LocalVideos(ctx, server.VideoQuery{}); total != 1 {
			t.Fatalf("after delete: %d", total)
		}
	})

	t.Run("Followers", func(t *testing.T) {
		s := newStore(t)
		ch, acc := "https://tube.example/video-channels/c", "https://tube.example/accounts/a"
		f1 := server.Follower{Local: ch, Actor: "https://b.example/accounts/x", Inbox: "https://b.example/accounts/x/inbox", SharedInbox: "https://b.example/inbox",
			State: server.FollowPending, FollowID: "https://b.example/follows/1", FollowJSON: []byte(`{"type":"Follow"}`), Created: t0}
		f2 := server.Follower{Local: acc, Actor: "https://c.example/u/y", Inbox: "https://c.example/u/y/inbox", State: server.FollowAccepted, FollowID: "https://c.example/f/2", FollowJSON: []byte(`{}`), Created: t0.Add(time.Minute)}
		for _, f := range []server.Follower{f1, f2} {
			if err := s.PutFollower(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Follower(ctx, ch, f1.Actor)
		if err != nil || got.Inbox != f1.Inbox || got.SharedInbox != f1.SharedInbox || string(got.FollowJSON) != string(f1.FollowJSON) || got.State != server.FollowPending || !got.Created.Equal(t0) {
			t.Fatalf("Follower round trip: %+v %v", got, err)
		}
		if _, err := s.Follower(ctx, acc, f1.Actor); !errors.Is(err, server.ErrNotFound) {
			t.Fatal("a follower is per local actor")
		}
		all, _ := s.Followers(ctx, "", "")
		if len(all) != 2 || all[0].Actor != f1.Actor {
			t.Fatalf("all followers, oldest first: %v", all)
		}
		acc1, _ := s.Followers(ctx, "", server.FollowAccepted)
		if len(acc1) != 1 || acc1[0].Actor != f2.Actor {
			t.Fatalf("accepted: %v", acc1)
		}
		chs, _ := s.Followers(ctx, ch, "")
		if len(chs) != 1 || chs[0].Actor != f1.Actor {
			t.Fatalf("channel's: %v", chs)
		}
		f1.State = server.FollowAccepted
		if err := s.PutFollower(ctx, f1); err != nil {
			t.Fatal(err)
		}
		if acc2, _ := s.Followers(ctx, "", server.FollowAccepted); len(acc2) != 2 {
			t.Fatalf("after approval: %d accepted", len(acc2))
		}
		if err := s.DeleteFollower(ctx, ch, f1.Actor); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFollower(ctx, ch, f1.Actor); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})

	t.Run("RemoteVideos", func(t *testing.T) {
		s := newStore(t)
		r1 := server.RemoteVideo{IRI: "https://b.example/videos/watch/1", UUID: "1", Name: "One", Actor: "https://b.example/accounts/x", JSON: []byte(`{"v":1}`), Received: t0}
		r2 := server.RemoteVideo{IRI: "https://b.example/videos/watch/2", UUID: "2", Name: "Two", Actor: "https://b.example/accounts/x", JSON: []byte(`{"v":2}`), Received: t0.Add(time.Minute)}
		for _, r := range []server.RemoteVideo{r1, r2} {
			if err := s.PutRemoteVideo(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		r1.JSON, r1.Name = []byte(`{"v":"1b"}`), "One bis"
		if err := s.PutRemoteVideo(ctx, r1); err != nil {
			t.Fatal(err)
		}
		got, err := s.RemoteVideo(ctx, r1.IRI)
		if err != nil || string(got.JSON) != `{"v":"1b"}` || got.Name != "One bis" {
			t.Fatalf("replace by IRI: %+v %v", got, err)
		}
		list, _ := s.RemoteVideos(ctx)
		if len(list) != 2 || list[0].IRI != r2.IRI {
			t.Fatalf("most recent first: %v", list)
		}
		if err := s.DeleteRemoteVideo(ctx, r1.IRI); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RemoteVideo(ctx, r1.IRI); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := s.DeleteRemoteVideo(ctx, r1.IRI); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})

	t.Run("DeliveryQueue", func(t *testing.T) {
		s := newStore(t)
		act := []byte(`{"type":"Create"}`)
		ids, err := s.Enqueue(ctx, act, server.RoleAccount, []string{"https://b.example/inbox", "https://c.example/inbox", "https://b.example/inbox"}, t0)
		if err != nil || len(ids) != 2 {
			t.Fatalf("Enqueue de-duplicates inboxes: %v %v", ids, err)
		}
		later, _ := s.Enqueue(ctx, []byte(`{"type":"Announce"}`), server.RoleChannel, []string{"https://d.example/inbox"}, t0.Add(time.Hour))
		if st, _ := s.QueueStats(ctx); st.Pending != 3 {
			t.Fatalf("pending %d", st.Pending)
		}
		got, err := s.ClaimDeliveries(ctx, t0, time.Minute, 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("claim due items: %d %v", len(got), err)
		}
		if string(got[0].Activity) != string(act) || got[0].Signer != server.RoleAccount || got[0].Inbox != "https://b.example/inbox" || got[0].Attempts != 0 {
			t.Fatalf("claimed item: %+v", got[0])
		}
		if again, _ := s.ClaimDeliveries(ctx, t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
			t.Fatalf("leased items were claimed again: %d", len(again))
		}
		// The lease runs out: a crashed worker's items come back.
		back, _ := s.ClaimDeliveries(ctx, t0.Add(2*time.Minute), time.Minute, 1)
		if len(back) != 1 {
			t.Fatalf("expired lease: %d items", len(back))
		}
		if err := s.DeliveryDone(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		if err := s.RetryDelivery(ctx, ids[1], t0.Add(10*time.Minute), true, "HTTP 503"); err != nil {
			t.Fatal(err)
		}
		if none, _ := s.ClaimDeliveries(ctx, t0.Add(5*time.Minute), time.Minute, 10); len(none) != 0 {
			t.Fatalf("retry not due yet, got %d", len(none))
		}
		due, _ := s.ClaimDeliveries(ctx, t0.Add(10*time.Minute), time.Minute, 10)
		if len(due) != 1 || due[0].ID != ids[1] || due[0].Attempts != 1 || due[0].LastError != "HTTP 503" {
			t.Fatalf("retried item: %+v", due)
		}
		if err := s.RetryDelivery(ctx, ids[1], t0.Add(11*time.Minute), false, "circuit open"); err != nil {
			t.Fatal(err)
		}
		due, _ = s.ClaimDeliveries(ctx, t0.Add(2*time.Hour), time.Minute, 10)
		if len(due) != 2 || due[0].ID != ids[1] || due[0].Attempts != 1 || due[1].ID != later[0] {
			t.Fatalf("oldest due first, uncounted retry keeps attempts: %+v", due)
		}
		if err := s.DropDelivery(ctx, ids[1], "gone"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeliveryDone(ctx, ids[1]); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("done after drop: %v", err)
		}
		st, _ := s.QueueStats(ctx)
		if st.Pending != 1 || st.Dropped != 1 {
			t.Fatalf("stats %+v", st)
		}
		if n, _ := s.ClaimDeliveries(ctx, t0.Add(3*time.Hour), time.Minute, 0); len(n) != 0 {
			t.Fatal("max 0 claims nothing")
		}
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		s := newStore(t)
		var inboxes []string
		for i := range 50 {
			inboxes = append(inboxes, fmt.Sprintf("https://h%d.example/inbox", i))
		}
		if _, err := s.Enqueue(ctx, []byte(`{}`), server.RoleAccount, inboxes, t0); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, _ := s.ClaimDeliveries(ctx, t0, time.Minute, 20)
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(seen) != 50 {
			t.Fatalf("claimed %d distinct items of 50", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("item %d claimed %d times", id, n)
			}
		}
	})

	t.Run("Breakers", func(t *testing.T) {
		s := newStore(t)
		b, err := s.Breaker(ctx, "b.example")
		if err != nil || b.Host != "b.example" || b.Failures != 0 || !b.OpenUntil.IsZero() {
			t.Fatalf("unknown host: %+v %v", b, err)
		}
		if err := s.PutBreaker(ctx, server.Breaker{Host: "b.example", Failures: 5, OpenUntil: t0}); err != nil {
			t.Fatal(err)
		}
		b, _ = s.Breaker(ctx, "b.example")
		if b.Failures != 5 || !b.OpenUntil.Equal(t0) {
			t.Fatalf("round trip: %+v", b)
		}
		if c, _ := s.Breaker(ctx, "c.example"); c.Failures != 0 {
			t.Fatal("hosts are independent")
		}
	})
}

func names(vs []server.LocalVideo) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}
