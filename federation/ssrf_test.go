package federation

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::": false, "fe80::1": false,
		"fc00::1": false, "224.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"198.18.0.1": false, "240.0.0.1": false,
		"1.1.1.1": true, "93.184.216.34": true, "2a01:4f8::1": true, "::ffff:8.8.8.8": true,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestGuardedClientRefusesLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	guarded := NewHTTPClient(false, 5*time.Second)
	// By IP, and by a name that resolves to loopback.
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/"} {
		resp, err := guarded.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: fetched through the guard", u)
		}
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: want ErrForbiddenAddress, got %v", u, err)
		}
	}

	// A public-looking first hop that redirects to loopback is caught at the dial too.
	redirector := httptest.NewServer(http.RedirectHandler(srv.URL, http.StatusFound))
	defer redirector.Close()
	if _, err := guarded.Get(redirector.URL); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("redirect: %v", err)
	}

	allowed := NewHTTPClient(true, 5*time.Second)
	resp, err := allowed.Get(srv.URL)
	if err != nil {
		t.Fatalf("allowPrivate: %v", err)
	}
	resp.Body.Close()
}

func TestGuardedDialerDirect(t *testing.T) {
	_, err := GuardedDialer(false).DialContext(context.Background(), "tcp", "127.0.0.1:9")
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("dial loopback: %v", err)
	}
}
