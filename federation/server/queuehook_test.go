package server

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// queueWatch records the QueueStats read in each OnQueueChange call, as the
// library's hostChanged does.
type queueWatch struct {
	mu    sync.Mutex
	seen  []QueueStats
	calls atomic.Int64
	busy  atomic.Int64 // calls running at once (must stay ≤ 1)
	t     *testing.T
}

func (q *queueWatch) hook(s **Server) func() {
	return func() {
		if q.busy.Add(1) > 1 {
			q.t.Error("OnQueueChange called concurrently")
		}
		defer q.busy.Add(-1)
		q.calls.Add(1)
		st, err := (*s).QueueStats(context.Background())
		if err != nil {
			q.t.Error(err)
			return
		}
		q.mu.Lock()
		q.seen = append(q.seen, st)
		q.mu.Unlock()
	}
}

func (q *queueWatch) last() (QueueStats, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.seen) == 0 {
		return QueueStats{}, false
	}
	return q.seen[len(q.seen)-1], true
}

// newWatchedInstance is an instance whose OnQueueChange feeds a queueWatch.
func newWatchedInstance(t *testing.T, opts ...instanceOpt) (*instance, *queueWatch) {
	q := &queueWatch{t: t}
	var srv *Server
	opts = append(opts, func(c *Config) {
		c.OnQueueChange = q.hook(&srv)
		c.QueueChangeDelay = 20 * time.Millisecond
	})
	a := newInstance(t, "alice", opts...)
	srv = a.srv
	return a, q
}

// The hook fires when activities are enqueued (the workers not even
// started), and again once the deliveries succeeded: its last call sees
// the queue empty. The test reads the queue only through the hook.
func TestQueueHookFiresOnEnqueueAndSuccess(t *testing.T) {
	a, q := newWatchedInstance(t)
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusAccepted })
	addFollower(t, a, rc.srv.URL+"/users/x", rc.srv.URL+"/users/x/inbox")
	v := a.addVideo("Hooked video", time.Now())
	if err := a.srv.PublishVideo(context.Background(), v.UUID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the hook after the enqueue", 10*time.Second, func() bool {
		st, ok := q.last()
		return ok && st.Pending == 3
	})
	a.start()
	eventually(t, "the hook after the deliveries", 10*time.Second, func() bool {
		st, ok := q.last()
		return ok && st.Pending == 0 && st.Dropped == 0
	})
	if rc.accepted() != 3 {
		t.Fatalf("%d deliveries accepted, want 3", rc.accepted())
	}
}

// A permanent refusal drops the item; the hook's last call shows it.
func TestQueueHookFiresOnDrop(t *testing.T) {
	a, q := newWatchedInstance(t)
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	addFollower(t, a, "http://remote.example/users/x", rc.srv.URL+"/users/x/inbox")
	if err := a.srv.DeleteVideo(context.Background(), newUUID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the hook after the enqueue", 10*time.Second, func() bool {
		st, ok := q.last()
		return ok && st.Pending == 1
	})
	a.start()
	eventually(t, "the hook after the drop", 10*time.Second, func() bool {
		st, ok := q.last()
		return ok && st.Pending == 0 && st.Dropped == 1
	})
}

// A retry (500 then 202) is reported too: the hook sees the item come back
// and finally leave.
func TestQueueHookFiresOnRetry(t *testing.T) {
	a, q := newWatchedInstance(t)
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusAccepted
	})
	addFollower(t, a, rc.srv.URL+"/users/x", rc.srv.URL+"/users/x/inbox")
	a.start()
	if err := a.srv.DeleteVideo(context.Background(), newUUID()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delivery after a retry", 10*time.Second, func() bool {
		st, ok := q.last()
		return ok && st.Pending == 0 && rc.accepted() == 1
	})
	if n := len(rc.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

// Close waits for a call in progress, cancels a scheduled one, and no call
// happens after it.
func TestQueueHookStopsAtClose(t *testing.T) {
	a, q := newWatchedInstance(t, func(c *Config) { c.QueueChangeDelay = time.Hour })
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusAccepted })
	addFollower(t, a, rc.srv.URL+"/users/x", rc.srv.URL+"/users/x/inbox")
	if err := a.srv.DeleteVideo(context.Background(), newUUID()); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.DeleteVideo(context.Background(), newUUID()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := q.calls.Load(); n != 0 {
		t.Fatalf("%d calls after Close", n)
	}
}

// A burst of notifies while a call runs makes exactly one more call, which
// starts after the burst.
func TestCoalescerBurst(t *testing.T) {
	var calls atomic.Int64
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	c := newCoalescer(func() {
		calls.Add(1)
		entered <- struct{}{}
		<-release
	}, time.Millisecond)
	c.notify()
	<-entered // the first call runs and holds
	for range 1000 {
		c.notify()
	}
	close(release)
	<-entered // the second call
	c.close()
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls for 1 + 1000 notifies, want 2", n)
	}
	c.notify() // after close: nothing
	time.Sleep(20 * time.Millisecond)
	if n := calls.Load(); n != 2 {
		t.Fatalf("a call after close: %d", n)
	}
	var nilC *coalescer = newCoalescer(nil, time.Millisecond)
	nilC.notify() // no hook: no-op
	nilC.close()
}
