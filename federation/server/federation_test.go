package server

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// follow makes from's account send a signed Follow to target's inbox.
func follow(t *testing.T, from *instance, target string, inbox string) *federation.Activity {
	t.Helper()
	fst := from.site()
	f := federation.NewFollow(fst.account.ID+"/follows/"+shortHash(target), fst.account.ID, target)
	if err := from.client(RoleAccount).Post(context.Background(), inbox, f); err != nil {
		t.Fatalf("follow %s: %v", target, err)
	}
	return f
}

// TestTwoInstancesFollowPublishUpdateDelete: B's account follows A's
// channel; A accepts into B's own inbox; A publishes, B fetches, validates
// and stores the video; Update and Delete propagate.
func TestTwoInstancesFollowPublishUpdateDelete(t *testing.T) {
	a := newInstance(t, "alice")
	b := newInstance(t, "bob")
	a.start()
	b.start()
	ctx := context.Background()
	ast, bst := a.site(), b.site()

	f := follow(t, b, ast.channel.ID, ast.channel.Inbox)
	fl, err := a.store.Follower(ctx, ast.channel.ID, bst.account.ID)
	if err != nil || fl.State != FollowAccepted || fl.Inbox != bst.account.Inbox || fl.SharedInbox != b.base+"/inbox" || fl.FollowID != f.ID {
		t.Fatalf("A's follower: %+v %v", fl, err)
	}
	eventually(t, "B sees A's Accept", 10*time.Second, func() bool { return len(b.activities(federation.TypeAccept)) == 1 })
	acc := b.activities(federation.TypeAccept)[0]
	inner, err := acc.ObjectActivity()
	if err != nil || acc.ActorIRI() != ast.channel.ID || inner.ID != f.ID || inner.ActorIRI() != bst.account.ID || inner.Object.IRI != ast.channel.ID {
		t.Fatalf("Accept must embed the whole Follow: %+v %+v %v", acc, inner, err)
	}
	// A's followers collection lists B.
	var items []string
	for it, err := range b.client(RoleInstance).GetCollection(ctx, ast.channel.Followers) {
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it.IRI)
	}
	if len(items) != 1 || items[0] != bst.account.ID {
		t.Fatalf("A's channel followers: %v", items)
	}

	// Publish.
	v := a.addVideo("Federated video", time.Now().Add(-time.Minute))
	if err := a.srv.PublishVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	iri := ast.videoIRI(v.UUID)
	eventually(t, "B stores the video", 10*time.Second, func() bool {
		_, err := b.store.RemoteVideo(ctx, iri)
		return err == nil
	})
	eventually(t, "B gets Create and both Announces", 10*time.Second, func() bool {
		return len(b.activities(federation.TypeCreate)) == 1 && len(b.activities(federation.TypeAnnounce)) == 2
	})
	announcers := map[string]bool{}
	for _, an := range b.activities(federation.TypeAnnounce) {
		announcers[an.ActorIRI()] = true
	}
	if !announcers[ast.instance.ID] || !announcers[ast.channel.ID] {
		t.Fatalf("announced by %v", announcers)
	}
	rv, _ := b.store.RemoteVideo(ctx, iri)
	stored, err := federation.ParseVideo(rv.JSON, strictOpts())
	if err != nil || stored.UUID != v.UUID || stored.Name != "Federated video" || len(stored.Files()) != 1 {
		t.Fatalf("stored video: %+v %v", stored, err)
	}

	// Update.
	v.Name = "Federated video, renamed"
	v.Updated = time.Now()
	if _, err := a.store.PutLocalVideo(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.UpdateVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees the new name", 10*time.Second, func() bool {
		rv, err := b.store.RemoteVideo(ctx, iri)
		return err == nil && rv.Name == "Federated video, renamed"
	})

	// Delete.
	if err := a.store.DeleteLocalVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.DeleteVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B drops the video", 10*time.Second, func() bool {
		_, err := b.store.RemoteVideo(ctx, iri)
		return errors.Is(err, ErrNotFound)
	})
	eventually(t, "A's queue drains", 10*time.Second, func() bool {
		st, _ := a.store.QueueStats(ctx)
		return st.Pending == 0
	})
	if st, _ := a.store.QueueStats(ctx); st.Dropped != 0 {
		t.Fatalf("dropped deliveries: %+v", st)
	}

	// Undo{Follow} removes the follower.
	undo, err := federation.NewUndo(bst.account.ID+"/follows/undo-1", bst.account.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.client(RoleAccount).Post(ctx, a.base+"/inbox", undo); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Follower(ctx, ast.channel.ID, bst.account.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Undo: %v", err)
	}
}

func TestManualApprovalAndReject(t *testing.T) {
	a := newInstance(t, "alice", func(c *Config) { c.ManualApproval = true })
	b := newInstance(t, "bob")
	c := newInstance(t, "carol")
	a.start()
	b.start()
	c.start()
	ctx := context.Background()
	ast := a.site()
	follow(t, b, ast.account.ID, ast.account.Inbox)
	follow(t, c, ast.account.ID, a.base+"/inbox")
	pending, _ := a.store.Followers(ctx, "", FollowPending)
	if len(pending) != 2 {
		t.Fatalf("pending: %d", len(pending))
	}
	time.Sleep(100 * time.Millisecond)
	if len(b.activities(federation.TypeAccept)) != 0 {
		t.Fatal("Accept sent before approval")
	}
	if err := a.srv.Approve(ctx, ast.account.ID, b.site().account.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.Reject(ctx, ast.account.ID, c.site().account.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B accepted, C rejected", 10*time.Second, func() bool {
		return len(b.activities(federation.TypeAccept)) == 1 && len(c.activities(federation.TypeReject)) == 1
	})
	all, _ := a.store.Followers(ctx, "", "")
	if len(all) != 1 || all[0].State != FollowAccepted || all[0].Actor != b.site().account.ID {
		t.Fatalf("followers after approval: %+v", all)
	}
	// Rejected activities are sent to the follower's own inbox.
	rj := c.activities(federation.TypeReject)[0]
	if inner, err := rj.ObjectActivity(); err != nil || inner.Type != federation.TypeFollow {
		t.Fatalf("Reject must embed the Follow: %v", err)
	}
}

func TestSharedInboxDeduplication(t *testing.T) {
	a := newInstance(t, "alice")
	b := newInstance(t, "bob")
	ctx := context.Background()
	ast, bst := a.site(), b.site()
	// Both of B's actors follow two of A's actors: one shared inbox.
	follow(t, b, ast.channel.ID, ast.channel.Inbox)
	follow(t, b, ast.account.ID, ast.account.Inbox)
	sg, _ := b.srv.signerFor(ctx, RoleChannel)
	f := federation.NewFollow(bst.channel.ID+"/follows/x", bst.channel.ID, ast.instance.ID)
	if err := b.srv.client.WithSigner(sg).Post(ctx, a.base+"/inbox", f); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.store.Followers(ctx, "", FollowAccepted); len(n) != 3 {
		t.Fatalf("followers: %d", len(n))
	}
	// Drain the Accepts (not started: they stay queued) and count the rest.
	before, _ := a.store.QueueStats(ctx)
	v := a.addVideo("Dedup", time.Now())
	if err := a.srv.PublishVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	after, _ := a.store.QueueStats(ctx)
	if got := after.Pending - before.Pending; got != 3 {
		t.Fatalf("publish enqueued %d deliveries, want 3 (Create + 2 Announces to one shared inbox)", got)
	}
	items, _ := a.store.ClaimDeliveries(ctx, time.Now().Add(time.Hour), time.Minute, 100)
	for _, it := range items {
		var act federation.Activity
		_ = json.Unmarshal(it.Activity, &act)
		if act.Type == federation.TypeAccept {
			if it.Inbox == b.base+"/inbox" {
				t.Fatalf("Accept sent to the shared inbox")
			}
			continue
		}
		if it.Inbox != b.base+"/inbox" {
			t.Fatalf("%s sent to %s, not the shared inbox", act.Type, it.Inbox)
		}
	}
}
