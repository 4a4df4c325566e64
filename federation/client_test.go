package federation

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testSigner signs as a Fourmi actor with the PeerTube fixture key pair.
func testSigner(t *testing.T) (*Signer, *rsa.PublicKey) {
	t.Helper()
	var keys struct {
		PublicKey  string `json:"publicKey"`
		PrivateKey string `json:"privateKey"`
	}
	readJSON(t, fixtures(t, "packages", "tests", "fixtures", "ap-json", "peertube", "keys.json"), &keys)
	priv, err := ParsePrivateKeyPEM(keys.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(keys.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{KeyID: "https://fourmi.example/accounts/peertube#main-key", Key: priv}, pub
}

// standIn is a PeerTube stand-in serving the captured 6.3 JSON with its
// host rewritten to the test server. When verify is set, every signed
// request is checked with the real Verifier and the outcome recorded.
type standIn struct {
	*httptest.Server
	host string
	mux  *http.ServeMux

	verify   *Verifier
	mu       sync.Mutex
	verified []string // "METHOD path owner" of each verified request
	failures []string
	unsigned int
}

func newStandIn(t *testing.T, pub *rsa.PublicKey) *standIn {
	t.Helper()
	s := &standIn{mux: http.NewServeMux()}
	if pub != nil {
		s.verify = &Verifier{Keys: func(_ context.Context, keyID string, _ bool) (*rsa.PublicKey, string, error) {
			return pub, KeyOwner(keyID), nil
		}}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	s.host = strings.TrimPrefix(s.URL, "http://")
	serveFile := func(pattern, file string) {
		body := rewriteHosts(captured(t, file), s.host)
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/activity+json; charset=utf-8")
			w.Write(body)
		})
	}
	const video = "/videos/watch/753d39e4-b7c2-4fe4-9376-587015d360be"
	serveFile("GET /accounts/peertube", "ap-instance-actor.json")
	serveFile("GET /accounts/root", "ap-account-root.json")
	serveFile("GET /video-channels/root_channel", "ap-channel.json")
	serveFile("GET "+video, "ap-video-watch.json")
	serveFile("GET /.well-known/nodeinfo", "nodeinfo-wellknown.json")
	for _, outbox := range []struct{ path, file string }{
		{"/video-channels/root_channel/outbox", "ap-channel-outbox"},
		{"/accounts/root/outbox", "ap-account-root-outbox"},
	} {
		col := rewriteHosts(captured(t, outbox.file+".json"), s.host)
		page := rewriteHosts(captured(t, outbox.file+"-page1.json"), s.host)
		s.mux.HandleFunc("GET "+outbox.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/activity+json; charset=utf-8")
			if r.URL.Query().Get("page") == "1" {
				w.Write(page)
				return
			}
			w.Write(col)
		})
	}
	finger := map[string][]byte{}
	for name, file := range map[string]string{"peertube": "webfinger-instance-actor.json", "root": "webfinger-root-account.json", "root_channel": "webfinger-root-channel.json"} {
		finger[AcctURI(name, s.host)] = rewriteHosts(captured(t, file), s.host)
	}
	s.mux.HandleFunc("GET "+WebFingerPath, func(w http.ResponseWriter, r *http.Request) {
		body, ok := finger[r.URL.Query().Get("resource")]
		if !ok {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/jrd+json; charset=utf-8")
		w.Write(body)
	})
	return s
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Signature") == "" {
		s.mu.Lock()
		s.unsigned++
		s.mu.Unlock()
	} else if s.verify != nil {
		var body []byte
		if r.Method == http.MethodPost {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		v, err := s.verify.Verify(r.Context(), r, body)
		s.mu.Lock()
		if err != nil {
			s.failures = append(s.failures, r.Method+" "+r.URL.RequestURI()+": "+err.Error())
		} else {
			s.verified = append(s.verified, r.Method+" "+r.URL.RequestURI()+" "+v.Owner)
		}
		s.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *standIn) record() (verified, failures []string, unsigned int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.verified...), append([]string(nil), s.failures...), s.unsigned
}

func loopbackClient(o ClientOptions) *Client {
	o.AllowPrivate = true
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	return NewClient(o)
}

func TestClientGetActor(t *testing.T) {
	s := newStandIn(t, nil)
	c := loopbackClient(ClientOptions{Validate: ValidateOptions{Strict: true}})
	ctx := context.Background()
	ch, err := c.GetActor(ctx, s.URL+"/video-channels/root_channel")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Type != TypeGroup || ch.Inbox != s.URL+"/video-channels/root_channel/inbox" || ch.Handle() != "root_channel@"+s.host {
		t.Errorf("channel %+v", ch)
	}
	if _, err := ch.Key(); err != nil {
		t.Error(err)
	}
	owner, _ := ch.Owner()
	acc, err := c.GetActor(ctx, owner.ID+"#main-key") // a key id fetches its actor
	if err != nil || acc.Type != TypePerson {
		t.Fatalf("owner: %+v %v", acc, err)
	}
	if _, _, unsigned := s.record(); unsigned != 2 {
		t.Errorf("without a signer the GETs go unsigned (%d)", unsigned)
	}
}

func TestClientGetVideo(t *testing.T) {
	s := newStandIn(t, nil)
	c := loopbackClient(ClientOptions{Validate: ValidateOptions{Strict: true}})
	v, err := c.GetVideo(context.Background(), s.URL+"/videos/watch/753d39e4-b7c2-4fe4-9376-587015d360be")
	if err != nil {
		t.Fatal(err)
	}
	files := v.Files()
	if len(files) != 4 || !strings.HasPrefix(files[0].URL, s.URL+"/static/web-videos/") || !strings.Contains(files[0].MagnetURI, "127.0.0.1%3A"+s.URL[strings.LastIndex(s.URL, ":")+1:]) {
		t.Errorf("files not on the stand-in: %+v", files)
	}
	// The same JSON served from another host than its id is refused.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", MediaTypeActivityJSON)
		w.Write(rewriteHosts(captured(t, "ap-video-watch.json"), s.host))
	}))
	defer other.Close()
	_, err = c.GetVideo(context.Background(), other.URL+"/videos/watch/753d39e4-b7c2-4fe4-9376-587015d360be")
	wantField(t, err, "id")
}

func TestClientCollectionPaging(t *testing.T) {
	s := newStandIn(t, nil)
	c := loopbackClient(ClientOptions{})
	ctx := context.Background()
	var items []ObjectOrIRI
	for it, err := range c.GetCollection(ctx, s.URL+"/video-channels/root_channel/outbox") {
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	if len(items) != 1 || items[0].Type != TypeAnnounce {
		t.Fatalf("channel outbox items %+v", items)
	}
	outbox := s.URL + "/accounts/root/outbox"
	n := 0
	for it, err := range c.GetCollection(ctx, outbox) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		a, err := ParseAndValidateActivity(it.Raw, ValidateOptions{Strict: true, Origin: outbox})
		if err != nil {
			t.Fatal(err)
		}
		if a.Type != TypeCreate || a.Object.Type != TypeVideo {
			t.Errorf("account outbox item %s{%s}", a.Type, a.Object.Type)
		}
	}
	if n != 1 {
		t.Errorf("%d items in the account outbox", n)
	}
	// Stopping early fetches no further page.
	for range c.GetCollection(ctx, outbox) {
		break
	}
}

func TestClientWebFinger(t *testing.T) {
	s := newStandIn(t, nil)
	c := loopbackClient(ClientOptions{})
	ctx := context.Background()
	for _, h := range []string{"root_channel@" + s.host, "acct:root_channel@" + s.host, "@root_channel@" + s.host} {
		iri, err := c.WebFinger(ctx, h)
		if err != nil || iri != s.URL+"/video-channels/root_channel" {
			t.Errorf("%s → %q %v", h, iri, err)
		}
	}
	if _, err := c.WebFinger(ctx, "nobody@"+s.host); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if _, err := c.WebFinger(ctx, "not a handle"); err == nil {
		t.Error("bad handle resolved")
	}
	actor, err := c.InstanceActor(ctx, s.host)
	if err != nil || actor != s.URL+"/accounts/peertube" {
		t.Errorf("instance actor %q %v", actor, err)
	}
}

// TestClientSignedGet: each GET carries a signature the real Verifier
// accepts, including after a redirect (signed afresh for the new target).
func TestClientSignedGet(t *testing.T) {
	signer, pub := testSigner(t)
	var dates atomic.Int32
	signer.Now = func() time.Time { dates.Add(1); return time.Now() }
	s := newStandIn(t, pub)
	s.mux.HandleFunc("GET /old-channel-url", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/video-channels/root_channel", http.StatusFound)
	})
	c := loopbackClient(ClientOptions{Signer: signer})
	ctx := context.Background()
	if a, err := c.GetActor(ctx, s.URL+"/old-channel-url"); err != nil || a.Type != TypeGroup {
		t.Fatalf("actor behind a redirect: %v", err)
	}
	for it, err := range c.GetCollection(ctx, s.URL+"/accounts/root/outbox") {
		if err != nil {
			t.Fatal(err)
		}
		_ = it
	}
	verified, failures, unsigned := s.record()
	if len(failures) != 0 || unsigned != 0 {
		t.Fatalf("verification failures %v, unsigned %d", failures, unsigned)
	}
	want := []string{
		"GET /old-channel-url https://fourmi.example/accounts/peertube",
		"GET /video-channels/root_channel https://fourmi.example/accounts/peertube",
		"GET /accounts/root/outbox https://fourmi.example/accounts/peertube",
		"GET /accounts/root/outbox?page=1 https://fourmi.example/accounts/peertube",
	}
	if strings.Join(verified, "\n") != strings.Join(want, "\n") {
		t.Errorf("verified:\n%s\nwant:\n%s", strings.Join(verified, "\n"), strings.Join(want, "\n"))
	}
	if dates.Load() != 4 {
		t.Errorf("%d signatures for 4 attempts", dates.Load())
	}
	// A tampered signature is refused by the stand-in: the client sees 401.
	bad := *signer
	other, _ := ParsePrivateKeyPEM(mustPrivateKeyPEM(t))
	bad.Key = other
	_, err := c.WithSigner(&bad).Get(ctx, s.URL+"/accounts/root")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Errorf("wrong key: %v", err)
	}
}

var (
	otherKeyOnce sync.Once
	otherKeyPEM  string
)

func mustPrivateKeyPEM(t *testing.T) string {
	otherKeyOnce.Do(func() {
		k, err := GenerateKey()
		if err != nil {
			panic(err)
		}
		otherKeyPEM, _ = PrivateKeyPEM(k)
	})
	return otherKeyPEM
}

// TestClientPost: a signed POST with Digest is verified server-side; the
// statuses a delivery queue needs come back typed.
func TestClientPost(t *testing.T) {
	signer, pub := testSigner(t)
	s := newStandIn(t, pub)
	var mu sync.Mutex
	var received [][]byte
	status := map[string]int{"/accepted": 202, "/nocontent": 204, "/busy": 429, "/gone": 410, "/broken": 500, "/ok": 200}
	for path, code := range status {
		s.mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if r.Header.Get("Content-Type") != MediaTypeActivityJSON {
				http.Error(w, "content type", http.StatusUnsupportedMediaType)
				return
			}
			mu.Lock()
			received = append(received, b)
			mu.Unlock()
			if code == 429 {
				w.Header().Set("Retry-After", "30")
			}
			w.WriteHeader(code)
		})
	}
	s.mux.HandleFunc("POST /moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/accepted", http.StatusTemporaryRedirect) // 307 keeps method and body
	})
	c := loopbackClient(ClientOptions{Signer: signer})
	ctx := context.Background()
	follow := NewFollow("https://fourmi.example/follows/1", "https://fourmi.example/accounts/peertube", s.URL+"/video-channels/root_channel")
	for _, path := range []string{"/accepted", "/nocontent", "/ok", "/moved"} {
		if err := c.Post(ctx, s.URL+path, follow); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	err := c.Post(ctx, s.URL+"/busy", follow)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 429 || he.RetryAfter != 30*time.Second || !he.Temporary() {
		t.Errorf("429: %#v", err)
	}
	if err := c.Post(ctx, s.URL+"/gone", follow); !errors.Is(err, ErrGone) || errors.As(err, &he) && he.Temporary() {
		t.Errorf("410: %v", err)
	}
	if err := c.Post(ctx, s.URL+"/broken", json.RawMessage(mustJSON(t, follow))); !errors.As(err, &he) || !he.Temporary() {
		t.Errorf("500: %v", err)
	}
	verified, failures, _ := s.record()
	if len(failures) != 0 || len(verified) != 8 {
		t.Fatalf("verified %v failures %v", verified, failures)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range received {
		got, err := ParseAndValidateActivity(b, ValidateOptions{AllowLocalhost: true})
		if err != nil || got.Type != TypeFollow {
			t.Errorf("received %s: %v", b, err)
		}
	}
	if err := loopbackClient(ClientOptions{}).Post(ctx, s.URL+"/accepted", follow); !errors.Is(err, ErrNoSigner) {
		t.Errorf("unsigned POST: %v", err)
	}
}

// TestClientHostileAnswers: what a broken or hostile server sends ends in a
// clear error, with bounded work.
func TestClientHostileAnswers(t *testing.T) {
	var srv *httptest.Server
	mux := http.NewServeMux()
	ap := func(w http.ResponseWriter) { w.Header().Set("Content-Type", MediaTypeActivityJSON) }
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html><body>PeerTube</body></html>")
	})
	mux.HandleFunc("/html-as-json", func(w http.ResponseWriter, r *http.Request) {
		ap(w)
		fmt.Fprint(w, "<html></html>")
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, `{"id":"x","type":"Note"}`)
	})
	mux.HandleFunc("/array", func(w http.ResponseWriter, r *http.Request) { ap(w); fmt.Fprint(w, `[{"id":"x"}]`) })
	mux.HandleFunc("/not-ap", func(w http.ResponseWriter, r *http.Request) { ap(w); fmt.Fprint(w, `{"error":"nope"}`) })
	mux.HandleFunc("/truncated", func(w http.ResponseWriter, r *http.Request) { ap(w); fmt.Fprint(w, `{"id":"x","type":`) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		ap(w)
		w.Header().Set("Content-Length", "4096")
		fmt.Fprint(w, `{"id":"x","type":"Note","content":"`+strings.Repeat("a", 4096-40)+`"}`)
	})
	mux.HandleFunc("/huge-chunked", func(w http.ResponseWriter, r *http.Request) {
		ap(w)
		fmt.Fprint(w, `{"id":"x","type":"Note","content":"`)
		for i := 0; i < 100; i++ {
			fmt.Fprint(w, strings.Repeat("a", 1000))
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, `"}`)
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/slow-down", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	var pagesServed atomic.Int32
	mux.HandleFunc("/infinite", func(w http.ResponseWriter, r *http.Request) {
		ap(w)
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if n == 0 {
			fmt.Fprintf(w, `{"id":"%s/infinite","type":"OrderedCollection","totalItems":1000000,"first":"%s/infinite?page=1"}`, srv.URL, srv.URL)
			return
		}
		pagesServed.Add(1)
		fmt.Fprintf(w, `{"id":"%s/infinite?page=%d","type":"OrderedCollectionPage","orderedItems":["%s/item/%d"],"next":"%s/infinite?page=%d"}`,
			srv.URL, n, srv.URL, n, srv.URL, n+1)
	})
	mux.HandleFunc("/cycle", func(w http.ResponseWriter, r *http.Request) {
		ap(w)
		fmt.Fprintf(w, `{"id":"%s/cycle","type":"OrderedCollectionPage","orderedItems":["%s/a"],"next":"%s/cycle?again"}`, srv.URL, srv.URL, srv.URL)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		ap(w)
		fmt.Fprint(w, `{"id":"x","type":"OrderedCollection","first":"https://victim.example/private?page=1"}`)
	})
	mux.HandleFunc("/not-a-collection", func(w http.ResponseWriter, r *http.Request) {
		ap(w)
		fmt.Fprint(w, `{"id":"x","type":"Person"}`)
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()
	c := loopbackClient(ClientOptions{MaxBody: 2048, MaxPages: 5})
	ctx := context.Background()

	get := map[string]error{
		"/html":         ErrNotActivityPub,
		"/html-as-json": ErrNotActivityPub,
		"/plain":        ErrNotActivityPub,
		"/array":        ErrNotActivityPub,
		"/not-ap":       ErrNotActivityPub,
		"/truncated":    ErrNotActivityPub,
		"/huge":         ErrResponseTooLarge,
		"/huge-chunked": ErrResponseTooLarge,
		"/gone":         ErrGone,
		"/missing":      ErrNotFound,
	}
	for path, want := range get {
		if _, err := c.Get(ctx, srv.URL+path); !errors.Is(err, want) {
			t.Errorf("GET %s: want %v, got %v", path, want, err)
		}
	}
	_, err := c.Get(ctx, srv.URL+"/slow-down")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 429 || he.RetryAfter < 60*time.Second || he.RetryAfter > 91*time.Second {
		t.Errorf("429 with an HTTP-date Retry-After: %v", err)
	}
	if _, err := c.Get(ctx, srv.URL+"/loop"); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("redirect loop: %v", err)
	}
	for _, bad := range []string{"ftp://127.0.0.1/x", "/relative", "http://"} {
		if _, err := c.Get(ctx, bad); err == nil {
			t.Errorf("GET %q accepted", bad)
		}
	}

	collect := func(path string) (int, error) {
		n := 0
		for _, err := range c.GetCollection(ctx, srv.URL+path) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	if n, err := collect("/infinite"); !errors.Is(err, ErrTooManyPages) || n != 5 || pagesServed.Load() != 5 {
		t.Errorf("infinite collection: %d items, %d pages served, %v", n, pagesServed.Load(), err)
	}
	if n, err := collect("/cycle"); err == nil || n != 2 {
		t.Errorf("cycling pages: %d items, %v", n, err)
	}
	if _, err := collect("/elsewhere"); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("page on another host: %v", err)
	}
	if _, err := collect("/not-a-collection"); !errors.Is(err, ErrNotActivityPub) {
		t.Errorf("not a collection: %v", err)
	}
	if _, err := collect("/html"); !errors.Is(err, ErrNotActivityPub) {
		t.Errorf("HTML collection: %v", err)
	}
}

// TestClientRefusesLoopback: the default client will not fetch from
// loopback, whatever the host is called.
func TestClientRefusesLoopback(t *testing.T) {
	s := newStandIn(t, nil)
	c := NewClient(ClientOptions{Timeout: 5 * time.Second})
	ctx := context.Background()
	u, _ := url.Parse(s.URL)
	for _, target := range []string{s.URL + "/accounts/root", "http://localhost:" + u.Port() + "/accounts/root"} {
		if _, err := c.Get(ctx, target); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("GET %s: want ErrForbiddenAddress, got %v", target, err)
		}
	}
	signer, _ := testSigner(t)
	if err := c.WithSigner(signer).Post(ctx, s.URL+"/inbox", NewFollow("https://a.example/f", "https://a.example/u", "https://b.example/c")); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("POST: %v", err)
	}
	if _, _, unsigned := s.record(); unsigned != 0 {
		t.Errorf("%d requests reached the loopback server", unsigned)
	}
}
