package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "fourmi ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	_, errOut, code := runCLI(t, "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}

func TestBrowseJSONAgainstCapturedPeerTube(t *testing.T) {
	s := peertubetest.NewCaptured(t)
	dir := t.TempDir()
	out, errOut, code := runCLI(t, "--data", dir, "browse", "--json", "--count", "5", s.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res browseResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res.Total != 1 || len(res.Videos) != 1 {
		t.Fatalf("result = %+v", res)
	}
	v := res.Videos[0]
	if v.Name != "Interop test video" || v.Duration != 10 || v.Channel != "root_channel@"+s.Host() ||
		v.URL != s.URL+"/videos/watch/"+peertubetest.CapturedUUID {
		t.Errorf("video = %+v", v)
	}

	// The page is now in the library: "local" finds it offline.
	s.Close()
	out, errOut, code = runCLI(t, "--data", dir, "browse", "--search", "interop", "local")
	if code != 0 || !strings.Contains(out, "Interop test video") || !strings.Contains(out, "0:10") {
		t.Fatalf("local search after the instance went away: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestBrowseTableSearchAndPaging(t *testing.T) {
	s := peertubetest.NewSynthetic(30)
	defer s.Close()
	dir := t.TempDir()
	out, errOut, code := runCLI(t, "--data", dir, "browse", "--count", "10", "--page", "3", s.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 12 || !strings.HasPrefix(lines[1], "#") || !strings.Contains(lines[1], "TITLE") {
		t.Fatalf("want header + 10 rows on page 3:\n%s", out)
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[2]), "21 ") {
		t.Errorf("page 3 starts at #21: %q", lines[2])
	}
	out, _, code = runCLI(t, "--data", dir, "browse", s.URL, "--search", "ants linux")
	if code != 0 || !strings.Contains(out, "Ants and linux, part 1") {
		t.Errorf("search (flags after INSTANCE): exit %d\n%s", code, out)
	}
}

func TestBrowseErrors(t *testing.T) {
	dir := t.TempDir()
	html := peertubetest.NewSynthetic(0)
	defer html.Close()
	html.Handle("/api/v1/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>my blog</html>"))
	})
	_, errOut, code := runCLI(t, "--data", dir, "browse", html.URL)
	if code != 1 || !strings.Contains(errOut, "not a PeerTube instance") {
		t.Errorf("HTML site: exit %d, %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "--data", dir, "browse", "--count", "500", "x.org")
	if code != 2 || !strings.Contains(errOut, "--count") {
		t.Errorf("bad count: exit %d, %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "--data", dir, "browse")
	if code != 2 || !strings.Contains(errOut, "INSTANCE") {
		t.Errorf("no instance: exit %d, %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "--data", dir, "browse", "--sort", "random", "x.org")
	if code != 2 || !strings.Contains(errOut, "--sort") {
		t.Errorf("bad sort: exit %d, %q", code, errOut)
	}
}

func TestBrowseChannelAndAccount(t *testing.T) {
	s := peertubetest.NewSynthetic(24)
	defer s.Close()
	dir := t.TempDir()
	out, errOut, code := runCLI(t, "--data", dir, "browse", "--json", "--channel", "sky_watch", s.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res browseResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 4 || len(res.Videos) != 4 {
		t.Fatalf("channel sky_watch: %d of %d videos", len(res.Videos), res.Total)
	}
	for _, v := range res.Videos {
		if v.Channel != "sky_watch@"+s.Host() {
			t.Errorf("%q is from %s", v.Name, v.Channel)
		}
	}
	out, _, code = runCLI(t, "--data", dir, "browse", "--account", "makers_owner", s.URL)
	if code != 0 || strings.Count(out, "makers@") != 4 {
		t.Errorf("account: exit %d\n%s", code, out)
	}
	_, errOut, code = runCLI(t, "--data", dir, "browse", "--channel", "nobody", s.URL)
	if code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("unknown channel: exit %d %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "--data", dir, "browse", "--channel", "a", "--search", "b", s.URL)
	if code != 2 {
		t.Errorf("--channel with --search: exit %d %q", code, errOut)
	}
}

// Under LANG=C.UTF-8 (servers, systemd) Fyne must not log a locale error on
// every command: internal/quietlocale runs before Fyne's lang init.
func TestNoLocaleNoiseUnderCUTF8(t *testing.T) {
	if os.Getenv("FOURMI_LOCALE_CHILD") == "1" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoLocaleNoiseUnderCUTF8$")
	cmd.Env = append(os.Environ(), "FOURMI_LOCALE_CHILD=1", "LANG=C.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(string(out), "locale") {
		t.Errorf("locale noise:\n%s", out)
	}
}
