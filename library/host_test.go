package library

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation"
)

// freeLoopbackPort is a TCP port free on 127.0.0.1 a moment ago.
func freeLoopbackPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// loopbackHost is a hosting configuration on 127.0.0.1 (private networks
// allowed, no port mapping).
func loopbackHost(t testing.TB, account, channel string) HostConfig {
	port := freeLoopbackPort(t)
	return HostConfig{
		Listen:               fmt.Sprintf("127.0.0.1:%d", port),
		PublicURL:            fmt.Sprintf("http://127.0.0.1:%d", port),
		AccountName:          account,
		AccountDisplayName:   strings.ToUpper(account[:1]) + account[1:],
		ChannelName:          channel,
		ChannelDisplayName:   "Videos of " + account,
		ChannelDescription:   "Home-made videos.",
		AllowPrivateNetworks: true,
	}
}

// startHosting configures and starts hosting, stopped at cleanup.
func startHosting(t testing.TB, l *Library, c HostConfig) {
	t.Helper()
	ctx := context.Background()
	if err := l.SetHostConfig(ctx, c); err != nil {
		t.Fatalf("SetHostConfig: %v", err)
	}
	if err := l.StartHosting(ctx); err != nil {
		t.Fatalf("StartHosting: %v", err)
	}
	t.Cleanup(func() { l.StopHosting(context.Background()) })
}

func getAP(ctx context.Context, u string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", federation.MediaTypeActivityJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestHostConfigValidation(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, Options{})
	def, err := l.HostConfig(ctx)
	if err != nil || def.Listen != DefaultHostListen || def.ChannelName != DefaultChannel || def.Enabled {
		t.Fatalf("defaults: %+v %v", def, err)
	}
	good := loopbackHost(t, "alice", "alice_videos")
	cases := []struct {
		name  string
		edit  func(*HostConfig)
		field string
	}{
		{"url with path", func(c *HostConfig) { c.PublicURL = "https://example.org/videos" }, "public_url"},
		{"url not http", func(c *HostConfig) { c.PublicURL = "ftp://example.org" }, "public_url"},
		{"url relative", func(c *HostConfig) { c.PublicURL = "example.org" }, "public_url"},
		{"bad listen", func(c *HostConfig) { c.Listen = "localhost" }, "listen"},
		{"upper-case name", func(c *HostConfig) { c.AccountName = "Alice" }, "account_name"},
		{"long name", func(c *HostConfig) { c.ChannelName = strings.Repeat("a", 51) }, "channel_name"},
		{"same names", func(c *HostConfig) { c.ChannelName = c.AccountName }, "channel_name"},
		{"peertube name", func(c *HostConfig) { c.AccountName = "peertube" }, "account_name"},
		{"empty display", func(c *HostConfig) { c.AccountDisplayName = " " }, "account_display_name"},
		{"long display", func(c *HostConfig) { c.ChannelDisplayName = strings.Repeat("é", 121) }, "channel_display_name"},
		{"long description", func(c *HostConfig) { c.ChannelDescription = strings.Repeat("x", 1001) }, "channel_description"},
		{"domain vs url", func(c *HostConfig) { c.Domain = "videos.example.org"; c.PublicURL = "https://other.example.org" }, "public_url"},
		{"bad domain", func(c *HostConfig) { c.Domain = "https://x.org" }, "domain"},
		{"avatar not jpeg", func(c *HostConfig) { c.AvatarPath = "host_test.go" }, "avatar"},
		{"enabled without url", func(c *HostConfig) { c.Enabled = true; c.PublicURL = "" }, "public_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := l.SetHostConfig(ctx, c)
			var ve ValidationError
			if !errors.As(err, &ve) || ve.For(tc.field) == "" {
				t.Fatalf("want a ValidationError on %s, got %v", tc.field, err)
			}
			// Nothing was stored.
			if got, _ := l.HostConfig(ctx); got != def {
				t.Fatalf("a refused configuration was stored: %+v", got)
			}
		})
	}
	if err := l.SetHostConfig(ctx, good); err != nil {
		t.Fatal(err)
	}
	got, _ := l.HostConfig(ctx)
	if got != good {
		t.Fatalf("round trip: %+v", got)
	}
	// The default channel of new videos follows the channel's name.
	if ch, _ := l.defaultChannel(ctx); ch != "alice_videos" {
		t.Fatalf("default channel %q", ch)
	}
	// A domain alone gives the https public URL.
	d := good
	d.PublicURL, d.Domain = "", "Videos.Example.org"
	if err := l.SetHostConfig(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.HostConfig(ctx); got.PublicURL != "https://videos.example.org" || got.Domain != "videos.example.org" {
		t.Fatalf("domain: %+v", got)
	}
	// Not hosting: the calls that need it say so.
	if err := l.ApproveFollower(ctx, "https://x.example/accounts/a"); !errors.Is(err, ErrNotHosting) {
		t.Fatalf("approve while not hosting: %v", err)
	}
	if _, err := l.CheckReachability(ctx); !errors.Is(err, ErrNotHosting) {
		t.Fatalf("reachability while not hosting: %v", err)
	}
}

// Hosting serves the PeerTube face on the configured address, checks its
// own reachability, survives a stop and start, and a busy port is a clear
// error that leaves hosting off.
func TestHostStartStop(t *testing.T) {
	ctx := testCtx(t)
	l := startPublishLib(t, Options{})
	c := loopbackHost(t, "alice", "alice_videos")
	statuses := make(chan HostStatus, 64)
	unsub := l.SubscribeHost(func(s HostStatus) {
		select {
		case statuses <- s:
		default:
		}
	})
	defer unsub()
	startHosting(t, l, c)
	resp, body, err := getAP(ctx, c.PublicURL+"/video-channels/alice_videos")
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), `"Group"`) {
		t.Fatalf("channel actor: %v %s", err, body)
	}
	if pub, _, _ := l.Setting(ctx, SettingPublicURL); pub != c.PublicURL {
		t.Fatalf("publishing's public URL = %q", pub)
	}
	r, err := l.CheckReachability(ctx)
	if err != nil || !r.OK || r.Checked.IsZero() {
		t.Fatalf("reachability: %+v %v", r, err)
	}
	st, err := l.HostStatus(ctx)
	if err != nil || !st.Running || st.ListenAddr != c.Listen || st.PublicURL != c.PublicURL || st.PortMapping != "off" || !st.Reachability.OK {
		t.Fatalf("status: %+v %v", st, err)
	}
	waitFor(t, "a running status for the subscriber", func() bool {
		for {
			select {
			case s := <-statuses:
				if s.Running {
					return true
				}
			default:
				return false
			}
		}
	})

	// A public URL that leads elsewhere fails the check, with a reason.
	other := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"http://elsewhere/accounts/peertube"}`)
	})}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go other.Serve(ln)
	defer other.Close()
	if err := fetchOwnActor(ctx, "http://"+ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "does not lead to this instance") {
		t.Fatalf("wrong instance behind the URL: %v", err)
	}

	if err := l.StopHosting(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := getAP(ctx, c.PublicURL+"/accounts/peertube"); err == nil {
		t.Fatal("still serving after StopHosting")
	}
	if got, _ := l.HostConfig(ctx); got.Enabled {
		t.Fatal("StopHosting did not store Enabled=false")
	}
	if pub, _, _ := l.Setting(ctx, SettingPublicURL); pub != "" {
		t.Fatalf("not hosting, publishing still uses %q", pub)
	}

	// The port is taken: StartHosting fails clearly, hosting stays off.
	busy, err := net.Listen("tcp", c.Listen)
	if err != nil {
		t.Fatal(err)
	}
	err = l.StartHosting(ctx)
	busy.Close()
	if err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Fatalf("busy port: %v", err)
	}
	st, _ = l.HostStatus(ctx)
	if st.Running || st.LastError == "" {
		t.Fatalf("status after a failed start: %+v", st)
	}
	// Same keys after a restart: followers keep verifying us.
	if err := l.StartHosting(ctx); err != nil {
		t.Fatal(err)
	}
	_, a1, _ := getAP(ctx, c.PublicURL+"/accounts/alice")
	l.StopHosting(ctx)
	if err := l.StartHosting(ctx); err != nil {
		t.Fatal(err)
	}
	_, a2, _ := getAP(ctx, c.PublicURL+"/accounts/alice")
	if string(a1) != string(a2) || !strings.Contains(string(a1), "BEGIN PUBLIC KEY") {
		t.Fatalf("the actor changed across a restart:\n%s\n%s", a1, a2)
	}
}

// Hosting that was on comes back with Start (the app's or `fourmi serve`'s
// next run); Close stops it.
func TestHostResumesWithStart(t *testing.T) {
	dir := t.TempDir()
	c := loopbackHost(t, "alice", "alice_videos")
	l := startPublishLib(t, publishOpts(dir))
	startHosting(t, l, c)
	l.Close()
	if _, _, err := getAP(context.Background(), c.PublicURL+"/accounts/peertube"); err == nil {
		t.Fatal("still serving after Close")
	}
	l2 := startPublishLib(t, publishOpts(dir))
	st, err := l2.HostStatus(context.Background())
	if err != nil || !st.Running {
		t.Fatalf("hosting did not resume: %+v %v", st, err)
	}
}

// The key test: two Fourmi instances on loopback. B follows A's
// channel, A accepts; A publishes; B receives the Create/Announces, the
// video appears in B's catalog (local search), and B streams it from A
// (A's web seed, A seeding) with the bytes of A's file.
func TestHostTwoInstances(t *testing.T) {
	needFFmpeg(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a := startPublishLib(t, Options{})
	b := startPublishLib(t, Options{})
	ca := loopbackHost(t, "alice", "alice_videos")
	cb := loopbackHost(t, "bob", "bob_channel")
	startHosting(t, a, ca)
	startHosting(t, b, cb)

	host := strings.TrimPrefix(ca.PublicURL, "http://")
	if _, err := b.FollowRemote(ctx, "alice_videos@"+host); err != nil {
		t.Fatalf("FollowRemote: %v", err)
	}
	bobActor := cb.PublicURL + "/accounts/bob"
	waitFor(t, "A to accept B's follow", func() bool {
		fs, _ := a.HostFollowers(ctx)
		return len(fs) == 1 && fs[0].Actor == bobActor && fs[0].State == FollowerAccepted &&
			fs[0].Handle == "bob@"+strings.TrimPrefix(cb.PublicURL, "http://")
	})
	waitFor(t, "B to record the Accept", func() bool {
		fs, _ := b.Following(ctx)
		return len(fs) == 1 && fs[0].State == FollowingAccepted && fs[0].Actor == ca.PublicURL+"/video-channels/alice_videos"
	})

	src := genH264MP4(t, t.TempDir())
	meta := testMeta("Otters of the river")
	v, err := publishWait(t, a, PublishRequest{File: src, Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	if f := v.Best(); f == nil || f.WebSeedURL == "" || !strings.HasPrefix(f.WebSeedURL, ca.PublicURL) {
		t.Fatalf("published without the instance's web seed: %+v", v.Files)
	}
	// A's tracker answers for the published file only.
	announce := func(ihHex string) string {
		ih, _ := hex.DecodeString(ihHex)
		q := url.Values{"info_hash": {string(ih)}, "peer_id": {"-FM0001-abcdefghijkl"}, "port": {"6881"},
			"uploaded": {"0"}, "downloaded": {"0"}, "left": {"0"}, "compact": {"1"}}
		resp, err := http.Get(ca.PublicURL + "/tracker/announce?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if r := announce(v.Best().InfoHash); !strings.Contains(r, "interval") || strings.Contains(r, "failure") {
		t.Fatalf("tracker refused the published file: %q", r)
	}
	if r := announce(strings.Repeat("ab", 20)); !strings.Contains(r, "failure reason") {
		t.Fatalf("tracker accepted an unknown info-hash: %q", r)
	}

	var got Video
	waitFor(t, "the video in B's catalog", func() bool {
		vs, _ := b.SearchLocal(ctx, "otters", 10)
		for _, x := range vs {
			if x.UUID == v.UUID {
				got = x
				return true
			}
		}
		return false
	})
	if got.Origin != host || got.Channel.Name != "alice_videos" || got.URL != ca.PublicURL+"/videos/watch/"+v.UUID {
		t.Fatalf("B's catalog row: %+v", got)
	}
	full, err := b.Video(ctx, v.UUID)
	if err != nil || len(full.Files) == 0 || full.Files[0].FileURL == "" || full.Files[0].MagnetURI == "" {
		t.Fatalf("B's files: %+v %v", full.Files, err)
	}
	rv, _ := b.hostStore().RemoteVideos(ctx)
	if len(rv) != 1 || rv[0].UUID != v.UUID {
		t.Fatalf("B's remote videos: %+v", rv)
	}
	if st, _ := a.HostStatus(ctx); st.Followers != 1 {
		t.Fatalf("A's status: %+v", st)
	}
	waitFor(t, "A's queue to drain", func() bool {
		st, _ := a.HostStatus(ctx)
		return st.Queue.Pending == 0 && st.Queue.Failed == 0
	})

	// B streams it from A, and the bytes are A's file's.
	p, err := b.Stream(ctx, v.UUID, 0)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer p.Stop()
	body, err := httpGet(ctx, p.StreamURL(), "")
	if err != nil {
		t.Fatalf("streaming: %v", err)
	}
	want, err := os.ReadFile(v.Best().Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(want) {
		t.Fatalf("B's stream differs from A's file: %d vs %d bytes", len(body), len(want))
	}

	// A edits the title: B's catalog follows (Update).
	meta.Title = "Otters of the big river"
	if _, err := a.UpdateMyVideo(ctx, v.UUID, meta); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the update in B's catalog", func() bool {
		x, err := b.Video(ctx, v.UUID)
		return err == nil && x.Name == meta.Title
	})
	// A deletes it: it leaves B's remote videos (B streamed it, so its
	// catalog row stays for the transfer and the history).
	if err := a.DeleteMyVideo(ctx, v.UUID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delete at B", func() bool {
		rv, _ := b.hostStore().RemoteVideos(ctx)
		return len(rv) == 0
	})
}

// With manual approval a follow waits in HostStatus.Pending until the user
// approves it (the Accept reaches the follower); rejecting removes the
// follower and tells it.
func TestHostManualApproval(t *testing.T) {
	ctx := testCtx(t)
	a := startPublishLib(t, Options{})
	b := startPublishLib(t, Options{})
	ca := loopbackHost(t, "alice", "alice_videos")
	ca.ManualApproval = true
	cb := loopbackHost(t, "bob", "bob_channel")
	startHosting(t, a, ca)
	startHosting(t, b, cb)
	if _, err := b.FollowRemote(ctx, ca.PublicURL+"/video-channels/alice_videos"); err != nil {
		t.Fatal(err)
	}
	bob := cb.PublicURL + "/accounts/bob"
	waitFor(t, "the pending request at A", func() bool {
		st, _ := a.HostStatus(ctx)
		return len(st.Pending) == 1 && st.Pending[0].Actor == bob && st.Followers == 0
	})
	if fs, _ := b.Following(ctx); len(fs) != 1 || fs[0].State != FollowingPending {
		t.Fatalf("B before approval: %+v", fs)
	}
	if err := a.ApproveFollower(ctx, "https://nobody.example/accounts/x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("approving a stranger: %v", err)
	}
	if err := a.ApproveFollower(ctx, bob); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to hear the Accept", func() bool {
		fs, _ := b.Following(ctx)
		return len(fs) == 1 && fs[0].State == FollowingAccepted
	})
	if st, _ := a.HostStatus(ctx); st.Followers != 1 || len(st.Pending) != 0 {
		t.Fatalf("A after approval: %+v", st)
	}
	if err := a.RejectFollower(ctx, bob); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to hear the Reject", func() bool {
		fs, _ := b.Following(ctx)
		return len(fs) == 1 && fs[0].State == FollowingRejected
	})
	if fs, _ := a.HostFollowers(ctx); len(fs) != 0 {
		t.Fatalf("A still lists %+v", fs)
	}
	// Following needs hosting; a name that does not resolve is an error.
	if _, err := b.FollowRemote(ctx, "nobody@"+strings.TrimPrefix(ca.PublicURL, "http://")); err == nil {
		t.Fatal("following an unknown name succeeded")
	}
	b.StopHosting(ctx)
	if _, err := b.FollowRemote(ctx, ca.PublicURL+"/video-channels/alice_videos"); !errors.Is(err, ErrNotHosting) {
		t.Fatalf("following while not hosting: %v", err)
	}
}

// A subscriber follows the delivery queue without polling: after an
// approval the Accept is enqueued and delivered, and the subscription
// alone brings a status whose queue is empty again. Statuses come in
// order: none after that one shows the delivery still pending.
func TestHostSubscriberSeesDeliveryEnd(t *testing.T) {
	ctx := testCtx(t)
	a := startPublishLib(t, Options{})
	b := startPublishLib(t, Options{})
	ca := loopbackHost(t, "alice", "alice_videos")
	ca.ManualApproval = true
	cb := loopbackHost(t, "bob", "bob_channel")
	startHosting(t, a, ca)
	startHosting(t, b, cb)

	statuses := make(chan HostStatus, 1024)
	unsub := a.SubscribeHost(func(s HostStatus) {
		select {
		case statuses <- s:
		default:
			t.Error("the subscriber's channel is full")
		}
	})
	defer unsub()
	next := func(what string, cond func(HostStatus) bool) HostStatus {
		t.Helper()
		timeout := time.After(watchTimeout)
		for {
			select {
			case s := <-statuses:
				if cond(s) {
					return s
				}
			case <-timeout:
				t.Fatalf("no status with %s", what)
			}
		}
	}
	next("hosting running", func(s HostStatus) bool { return s.Running })

	if _, err := b.FollowRemote(ctx, ca.PublicURL+"/video-channels/alice_videos"); err != nil {
		t.Fatal(err)
	}
	bob := cb.PublicURL + "/accounts/bob"
	next("the follow request", func(s HostStatus) bool { return len(s.Pending) == 1 && s.Pending[0].Actor == bob })
	if err := a.ApproveFollower(ctx, bob); err != nil {
		t.Fatal(err)
	}
	next("the Accept delivered", func(s HostStatus) bool {
		return s.Followers == 1 && len(s.Pending) == 0 && s.Queue.Pending == 0 && s.Queue.Failed == 0
	})
	waitFor(t, "B to hear the Accept", func() bool {
		fs, _ := b.Following(ctx)
		return len(fs) == 1 && fs[0].State == FollowingAccepted
	})
	// Anything later (the reachability check, …) still shows the queue
	// empty: an older status never overtakes a newer one.
	for {
		select {
		case s := <-statuses:
			if s.Queue.Pending != 0 || s.Followers != 1 {
				t.Fatalf("a stale status after the delivery: %+v", s)
			}
		default:
			return
		}
	}
}
