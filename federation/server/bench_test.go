package server

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// TestBenchReport prints the server's benchmark figures as BENCH lines.
// Run with FOURMI_BENCH=1; one part with -run 'TestBenchReport/gets'
// (inbox, gets, fanout).
func TestBenchReport(t *testing.T) {
	if os.Getenv("FOURMI_BENCH") != "1" {
		t.Skip("set FOURMI_BENCH=1 to run the benchmark report")
	}
	t.Run("inbox", benchInbox)
	t.Run("gets", benchGets)
	t.Run("fanout", benchFanOut)
}

// benchInbox: signed Follow POSTs (pre-signed, so only the receiver's work
// is timed) verified (Digest, Date, RSA signature with a cached key,
// PeerTube's rules) and stored, from 8 concurrent connections.
func benchInbox(t *testing.T) {
	a := newInstance(t, "alice", func(c *Config) { c.ManualApproval = true })
	b := newInstance(t, "bob")
	ctx := context.Background()
	ast, bst := a.site(), b.site()
	sg, _ := b.srv.signerFor(ctx, RoleAccount)
	const n = 2000
	type signed struct {
		body []byte
		hdr  http.Header
	}
	reqs := make([]signed, n)
	for i := range reqs {
		body, _ := json.Marshal(federation.NewFollow(fmt.Sprintf("%s/follows/%d", bst.account.ID, i), bst.account.ID, ast.channel.ID))
		r, _ := http.NewRequest(http.MethodPost, ast.channel.Inbox, bytes.NewReader(body))
		if err := sg.Sign(r, body); err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", federation.MediaTypeActivityJSON)
		reqs[i] = signed{body, r.Header}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	send := func(s signed) {
		r, _ := http.NewRequest(http.MethodPost, ast.channel.Inbox, bytes.NewReader(s.body))
		r.Header = s.hdr.Clone()
		resp, err := hc.Do(r)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	send(reqs[0]) // warm the key cache
	var next atomic.Int64
	next.Store(1)
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				send(reqs[i])
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	fs, _ := a.store.Followers(ctx, ast.channel.ID, "")
	if len(fs) != 1 || fs[0].FollowID != fmt.Sprintf("%s/follows/%d", bst.account.ID, n-1) && len(fs) != 1 {
		t.Logf("follower: %+v", fs)
	}
	fmt.Printf("BENCH inbox-verify-store %.0f activities/s\n", float64(n-1)/el.Seconds())
}

// benchGets: actor, WebFinger and outbox page GETs per second through the
// server vs a bare net/http handler answering the same bytes.
func benchGets(t *testing.T) {
	a := newInstance(t, "alice")
	for i := range 10 {
		a.addVideo(fmt.Sprintf("Bench video %d", i), time.Now().Add(time.Duration(i)*time.Minute))
	}
	host := a.base[len("http://"):]
	for _, tc := range []struct{ name, path, accept string }{
		{"actor", "/video-channels/alice_channel", federation.MediaTypeActivityJSON},
		{"webfinger", "/.well-known/webfinger?resource=acct:alice_channel@" + host, ""},
		{"outbox", "/accounts/alice/outbox?page=1", federation.MediaTypeActivityJSON},
	} {
		resp, body := get(t, a.base+tc.path, tc.accept)
		ct := resp.Header.Get("Content-Type")
		bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			_, _ = w.Write(body)
		}))
		rps := func(base string) float64 {
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			defer hc.CloseIdleConnections()
			res := testing.Benchmark(func(b *testing.B) {
				b.SetParallelism(2)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequest(http.MethodGet, base+tc.path, nil)
						if tc.accept != "" {
							req.Header.Set("Accept", tc.accept)
						}
						resp, err := hc.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
			})
			return float64(res.N) / res.T.Seconds()
		}
		var srv, raw float64
		for range 2 { // alternate to share the machine's mood; keep the best
			raw = max(raw, rps(bare.URL))
			srv = max(srv, rps(a.base))
		}
		bare.Close()
		fmt.Printf("BENCH get-%s %.0f req/s\n", tc.name, srv)
		fmt.Printf("BENCH get-%s-vs-bare %.2f x\n", tc.name, srv/raw)
	}
}

// benchFanOut: one Create{Video} to 1,000 follower inboxes, each its own
// loopback server verifying the signature (the sender's key fetched once
// per receiver host cache, as a real instance would).
func benchFanOut(t *testing.T) {
	const followers = 1000
	a := newInstance(t, "alice", func(c *Config) { c.DeliveryWorkers = 32 })
	ctx := context.Background()
	st := a.site()
	var keyMu sync.Mutex
	var key *rsa.PublicKey
	client := federation.NewClient(federation.ClientOptions{AllowPrivate: true, Validate: federation.ValidateOptions{AllowLocalhost: true}})
	verifier := federation.Verifier{Keys: func(ctx context.Context, keyID string, refresh bool) (*rsa.PublicKey, string, error) {
		keyMu.Lock()
		defer keyMu.Unlock()
		if key == nil || refresh {
			actor, err := client.GetActor(ctx, keyID)
			if err != nil {
				return nil, "", err
			}
			if key, err = actor.Key(); err != nil {
				return nil, "", err
			}
		}
		return key, federation.KeyOwner(keyID), nil
	}}
	var ok, bad atomic.Int64
	done := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := verifier.Verify(r.Context(), r, body); err != nil {
			bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		if ok.Add(1) == followers {
			close(done)
		}
	})
	for i := range followers {
		rs := httptest.NewServer(h)
		defer rs.Close()
		addFollower(t, a, fmt.Sprintf("%s/users/f%d", rs.URL, i), rs.URL+"/users/f/inbox")
	}
	v := a.addVideo("Fan-out", time.Now())
	inboxes, err := a.srv.followerInboxes(ctx)
	if err != nil || len(inboxes) != followers {
		t.Fatalf("inboxes: %d %v", len(inboxes), err)
	}
	create, err := st.createActivity(v)
	if err != nil {
		t.Fatal(err)
	}
	a.start()
	start := time.Now()
	if err := a.srv.enqueue(ctx, create, RoleAccount, inboxes); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("fan-out: %d delivered, %d refused after 2 min", ok.Load(), bad.Load())
	}
	el := time.Since(start)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("BENCH fanout-1000-create %.2f s\n", el.Seconds())
	fmt.Printf("BENCH fanout-refused %d requests\n", bad.Load())
	fmt.Printf("BENCH fanout-peak-rss %.0f MiB\n", float64(ru.Maxrss)/1024)
}

// BenchmarkOutboxPage: one outbox page of 10 Create{Video}, in process.
func BenchmarkOutboxPage(b *testing.B) {
	store := NewMemStore()
	_ = store.SaveInstance(context.Background(), Instance{BaseURL: "http://127.0.0.1:1", AccountName: "alice", ChannelName: "alice_channel"})
	s, _ := New(Config{Store: store, AllowLoopback: true})
	for i := range 10 {
		_, _ = store.PutLocalVideo(context.Background(), LocalVideo{UUID: newUUID(), Name: fmt.Sprintf("Bench video %d", i), Duration: 5, Published: time.Now(), Updated: time.Now(), Privacy: PrivacyPublic,
			Files: []VideoFile{{Resolution: 360, Width: 640, Height: 360, FPS: 25, Size: 100, InfoHash: "0123456789abcdef0123456789abcdef01234567"}}})
	}
	h := s.Handler()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/accounts/alice/outbox?page=1", nil)
		r.Header.Set("Accept", federation.MediaTypeActivityJSON)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
