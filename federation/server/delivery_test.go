package server

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// receiver is a loopback inbox that verifies every POST's signature (keys
// fetched from the sender's actor) and answers what reply says.
type receiver struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	got   []received
	reply func(n int, r *http.Request) int // n counts requests from 0
	n     int
}

type received struct {
	at       time.Time
	status   int
	verified bool
	act      *federation.Activity
}

func newReceiver(t *testing.T, reply func(n int, r *http.Request) int) *receiver {
	rc := &receiver{t: t, reply: reply}
	rc.srv = httptest.NewServer(rc.handler())
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) handler() http.Handler {
	client := federation.NewClient(federation.ClientOptions{AllowPrivate: true, Validate: federation.ValidateOptions{AllowLocalhost: true}})
	verifier := federation.Verifier{Keys: func(ctx context.Context, keyID string, _ bool) (*rsa.PublicKey, string, error) {
		a, err := client.GetActor(ctx, keyID)
		if err != nil {
			return nil, "", err
		}
		k, err := a.Key()
		return k, a.ID, err
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		who, err := verifier.Verify(r.Context(), r, body)
		act, perr := federation.ParseActivity(body)
		rec := received{at: time.Now(), verified: err == nil && perr == nil && who.Owner == act.ActorIRI(), act: act}
		rc.mu.Lock()
		n := rc.n
		rc.n++
		rc.mu.Unlock()
		rec.status = rc.reply(n, r)
		if !rec.verified {
			rec.status = http.StatusUnauthorized
		}
		if rec.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(rec.status)
		rc.mu.Lock()
		rc.got = append(rc.got, rec)
		rc.mu.Unlock()
	})
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) accepted() int {
	n := 0
	for _, r := range rc.requests() {
		if r.status/100 == 2 && r.verified {
			n++
		}
	}
	return n
}

// addFollower registers inbox as a follower of a's channel.
func addFollower(t *testing.T, a *instance, actor, inbox string) {
	t.Helper()
	st := a.site()
	f := federation.NewFollow(actor+"/follows/1", actor, st.channel.ID)
	raw, _ := json.Marshal(plainActivity(*f))
	if err := a.store.PutFollower(context.Background(), Follower{Local: st.channel.ID, Actor: actor, Inbox: inbox, State: FollowAccepted, FollowID: f.ID, FollowJSON: raw, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestDeliveryHonoursRetryAfter(t *testing.T) {
	a := newInstance(t, "alice")
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	})
	addFollower(t, a, "http://remote.example/users/x", rc.srv.URL+"/users/x/inbox")
	a.start()
	if err := a.srv.DeleteVideo(context.Background(), newUUID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivered after the 503", 10*time.Second, func() bool { return rc.accepted() == 1 })
	got := rc.requests()
	if len(got) != 2 || !got[0].verified || got[0].act.Type != federation.TypeDelete {
		t.Fatalf("requests: %+v", got)
	}
	// RetryBase is 50 ms: only Retry-After explains a wait of a second.
	if gap := got[1].at.Sub(got[0].at); gap < 900*time.Millisecond {
		t.Fatalf("retried after %s, Retry-After said 1 s", gap)
	}
	eventually(t, "queue empty", 5*time.Second, func() bool {
		st, _ := a.store.QueueStats(context.Background())
		return st.Pending == 0 && st.Dropped == 0
	})
}

func TestDeliveryBreakerOpensWhileHostIsDown(t *testing.T) {
	a := newInstance(t, "alice", func(c *Config) {
		c.BreakerThreshold = 2
		c.BreakerCooldown = 400 * time.Millisecond
	})
	ctx := context.Background()
	// A host that is down: a port nobody listens on (yet).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	addFollower(t, a, "http://"+addr+"/users/x", "http://"+addr+"/users/x/inbox")
	a.start()
	if err := a.srv.DeleteVideo(ctx, newUUID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "breaker opens", 10*time.Second, func() bool {
		b, _ := a.store.Breaker(ctx, addr)
		return b.Failures >= 2 && !b.OpenUntil.IsZero()
	})
	if st, _ := a.store.QueueStats(ctx); st.Pending != 1 || st.Dropped != 0 {
		t.Fatalf("the item must wait, not be dropped: %+v", st)
	}
	// The host comes back on the same address: the item goes through and
	// the breaker closes.
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot re-listen on %s: %v", addr, err)
	}
	rc := &receiver{t: t, reply: func(int, *http.Request) int { return http.StatusNoContent }}
	rc.srv = httptest.NewUnstartedServer(rc.handler())
	rc.srv.Listener = l2
	rc.srv.Start()
	t.Cleanup(rc.srv.Close)
	eventually(t, "delivered once the host is back", 15*time.Second, func() bool { return rc.accepted() == 1 })
	eventually(t, "breaker closes", 5*time.Second, func() bool {
		b, _ := a.store.Breaker(ctx, addr)
		return b.Failures == 0 && b.OpenUntil.IsZero()
	})
	if st, _ := a.store.QueueStats(ctx); st.Pending != 0 || st.Dropped != 0 {
		t.Fatalf("queue: %+v", st)
	}
}

func TestDeliveryBreakerHoldsBackAllItemsOfAHost(t *testing.T) {
	a := newInstance(t, "alice", func(c *Config) {
		c.BreakerThreshold = 2
		c.BreakerCooldown = time.Second
		c.DeliveryWorkers = 1
	})
	ctx := context.Background()
	var mu sync.Mutex
	failing := true
	rc := newReceiver(t, func(int, *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return http.StatusInternalServerError
		}
		return http.StatusAccepted
	})
	addFollower(t, a, "http://remote.example/users/x", rc.srv.URL+"/users/x/inbox")
	a.start()
	v := a.addVideo("Breaker", time.Now())
	if err := a.srv.PublishVideo(ctx, v.UUID); err != nil { // three items for one host
		t.Fatal(err)
	}
	eventually(t, "breaker opens", 10*time.Second, func() bool {
		b, _ := a.store.Breaker(ctx, hostOf(rc.srv.URL))
		return !b.OpenUntil.IsZero()
	})
	opened := len(rc.requests())
	b, _ := a.store.Breaker(ctx, hostOf(rc.srv.URL))
	// While open, nothing is sent there.
	time.Sleep(time.Until(b.OpenUntil) - 200*time.Millisecond)
	if n := len(rc.requests()); n != opened {
		t.Fatalf("%d requests reached the host while its breaker was open", n-opened)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	eventually(t, "all three delivered after the cooldown", 15*time.Second, func() bool { return rc.accepted() == 3 })
}

func TestDeliveryResumesAfterRestart(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	rc := newReceiver(t, func(n int, r *http.Request) int {
		if n == 0 {
			// Hang the first delivery until the sender shuts down.
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	})
	store := NewMemStore()
	a := newInstanceOver(t, "alice", store)
	addFollower(t, a, "http://remote.example/users/x", rc.srv.URL+"/users/x/inbox")
	v := a.addVideo("Survives restart", time.Now())
	if err := a.srv.PublishVideo(context.Background(), v.UUID); err != nil {
		t.Fatal(err)
	}
	cfg := a.cfg
	cfg.DeliveryWorkers = 1
	first, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.swap(first.Handler())
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "first delivery in flight", 10*time.Second, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.n >= 1
	})
	first.Close() // shutdown mid-flight: the item goes back to the queue
	once.Do(func() { close(release) })
	if st, _ := store.QueueStats(context.Background()); st.Pending != 3 {
		t.Fatalf("after shutdown: %+v", st)
	}
	// A new Server over the same store resumes.
	second, err := New(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.swap(second.Handler())
	if err := second.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	eventually(t, "all delivered by the new server", 10*time.Second, func() bool { return rc.accepted() == 3 })
	types := map[federation.Type]int{}
	for _, r := range rc.requests() {
		if r.status/100 == 2 {
			types[r.act.Type]++
		}
	}
	if types[federation.TypeCreate] != 1 || types[federation.TypeAnnounce] != 2 {
		t.Fatalf("delivered: %v", types)
	}
	eventually(t, "queue empty", 5*time.Second, func() bool {
		st, _ := store.QueueStats(context.Background())
		return st.Pending == 0 && st.Dropped == 0
	})
}

func TestPermanentRefusalIsDropped(t *testing.T) {
	a := newInstance(t, "alice")
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	addFollower(t, a, "http://remote.example/users/x", rc.srv.URL+"/users/x/inbox")
	a.start()
	if err := a.srv.DeleteVideo(context.Background(), newUUID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dropped", 10*time.Second, func() bool {
		st, _ := a.store.QueueStats(context.Background())
		return st.Pending == 0 && st.Dropped == 1
	})
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("410 retried: %d requests", n)
	}
}
