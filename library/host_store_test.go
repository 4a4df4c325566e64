package library

import (
	"context"
	"errors"
	"testing"

	"github.com/fourmi-app/fourmi/federation/server"
	"github.com/fourmi-app/fourmi/federation/server/storetest"
)

// The library's SQLite Store passes the same contract as MemStore, on a
// real database file.
func TestHostStoreContract(t *testing.T) {
	storetest.StoreContractTest(t, func(t *testing.T) server.Store {
		return openTest(t, Options{}).hostStore()
	})
}

// Published (done) videos are the server's local videos; jobs still
// queued are invisible to it; not-found errors match both packages'.
func TestHostStoreSeesOnlyPublished(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, Options{})
	s := l.hostStore()
	q := LocalVideo{UUID: newUUID(), Meta: Metadata{Title: "Queued one", Channel: DefaultChannel, Privacy: PrivacyPublic}, Source: "/x.mp4",
		State: PublishQueued, CreatedAt: l.now(), UpdatedAt: l.now()}
	if err := l.insertLocal(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	_, err := s.LocalVideo(ctx, q.UUID)
	if !errors.Is(err, server.ErrNotFound) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("a queued job must not be served: %v", err)
	}
	if list, total, err := s.LocalVideos(ctx, server.VideoQuery{AllPrivacies: true}); err != nil || total != 0 || len(list) != 0 {
		t.Fatalf("queued job listed: %d %v", total, err)
	}
	// MyVideos still shows it: the Store did not touch the job.
	if mine, _ := l.MyVideos(ctx); len(mine) != 1 || mine[0].State != PublishQueued {
		t.Fatalf("MyVideos: %+v", mine)
	}
}
