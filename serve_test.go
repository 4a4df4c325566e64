package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/library"
)

// serveChildEnv carries the arguments of a `fourmi serve` run in a child
// process (this test binary, which is the real fourmi main package): a
// signal must reach the server, not the test.
const serveChildEnv = "FOURMI_SERVE_CHILD_ARGS"

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `fourmi serve` answers NodeInfo and the REST config on the given
// address, saves its flags in the library, and exits 0 on SIGTERM after
// closing everything.
func TestServe(t *testing.T) {
	if args := os.Getenv(serveChildEnv); args != "" {
		os.Exit(run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	dir := t.TempDir()
	args := []string{"--data", dir, "--loopback-only", "serve", "--listen", addr, "--public-url", base,
		"--account", "alice", "--channel", "alice_videos", "--allow-private-networks", "--manual-approval"}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServe$")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+strings.Join(args, "\x1f"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()

	var out []string
	deadline := time.After(60 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited early:\n%s\n%s", strings.Join(out, "\n"), stderr.String())
			}
			out = append(out, l)
			if strings.HasPrefix(l, "Instance actor:") {
				break wait
			}
		case <-deadline:
			t.Fatalf("serve did not report its address:\n%s\n%s", strings.Join(out, "\n"), stderr.String())
		}
	}
	if !strings.Contains(out[0], "Serving "+base+" on "+addr) || !strings.Contains(out[1], "alice_videos@"+addr) {
		t.Fatalf("stdout:\n%s", strings.Join(out, "\n"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	get := func(path string, into any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", path, resp.Status, b)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	var links struct {
		Links []struct{ Rel, Href string }
	}
	get("/.well-known/nodeinfo", &links)
	found := false
	for _, l := range links.Links {
		if l.Rel == "https://www.w3.org/ns/activitystreams#Application" && l.Href == base+"/accounts/peertube" {
			found = true
		}
	}
	if !found {
		t.Fatalf("nodeinfo links: %+v", links)
	}
	var cfg struct {
		Instance struct{ Name string }
	}
	get("/api/v1/config", &cfg)
	if cfg.Instance.Name == "" {
		t.Fatalf("config: %+v", cfg)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "hosting stopped") {
		t.Errorf("no orderly shutdown in the log:\n%s", stderr.String())
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("still listening after exit")
	}
	// The flags were saved: the library (unlocked now) says so.
	lib, err := library.Open(ctx, library.Options{Dir: dir, DefaultInstances: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	hc, err := lib.HostConfig(ctx)
	if err != nil || !hc.Enabled || hc.PublicURL != base || hc.Listen != addr || hc.AccountName != "alice" ||
		hc.ChannelName != "alice_videos" || !hc.ManualApproval || !hc.AllowPrivateNetworks {
		t.Fatalf("saved configuration: %+v %v", hc, err)
	}
}

// Bad flags are a usage error (exit 2) naming the field; nothing starts.
func TestServeBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--public-url", "ftp://example.org"}, "public_url"},
		{[]string{"--public-url", "http://127.0.0.1:1", "--channel", "Bad Name"}, "channel_name"},
		{[]string{"--listen", "nonsense", "--public-url", "http://127.0.0.1:1"}, "listen"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{}, "public URL"}, // nothing saved yet: hosting needs a public URL
	} {
		t.Run(fmt.Sprint(tc.args), func(t *testing.T) {
			args := append([]string{"--data", t.TempDir(), "--loopback-only", "serve"}, tc.args...)
			_, errOut, code := runCLI(t, args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want 2 mentioning %q:\n%s", code, tc.want, errOut)
			}
		})
	}
}
