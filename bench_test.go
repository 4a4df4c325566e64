package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube/peertubetest"
	"github.com/fourmi-app/fourmi/library"
)

// TestBenchReport measures the desktop app itself (make bench): time from
// exec to the first window (warm), and resident memory with the Discover grid
// open on a library of 10,000 cached videos. It runs the real binary under
// Xvfb against a loopback demo catalog.
func TestBenchReport(t *testing.T) {
	if os.Getenv("FOURMI_BENCH") == "" {
		t.Skip("benchmarks run with make bench")
	}
	bin := os.Getenv("FOURMI_BIN")
	if bin == "" {
		t.Skip("FOURMI_BIN (the built fourmi binary) not set")
	}
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		t.Skip("Xvfb not installed")
	}
	ctx := context.Background()
	s := peertubetest.NewSynthetic(10000)
	defer s.Close()
	dir := t.TempDir()
	lib, err := library.Open(ctx, library.Options{Dir: dir, DefaultInstances: []string{}, SearchIndexURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := lib.AddInstance(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	src := library.Source{Kind: library.SourceInstance, Host: inst.Host, Name: inst.Name}
	for page := range 100 {
		if _, err := lib.Fetch(ctx, library.Query{Source: src, Page: page, PageSize: 100}); err != nil {
			t.Fatal(err)
		}
	}
	if err := lib.Close(); err != nil {
		t.Fatal(err)
	}

	display := fmt.Sprintf(":%d", 90+os.Getpid()%50)
	x := exec.Command(xvfb, display, "-screen", "0", "1280x800x24", "-nolisten", "tcp")
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { x.Process.Kill(); x.Wait() }()
	sock := filepath.Join("/tmp/.X11-unix", "X"+strings.TrimPrefix(display, ":"))
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	bare := filepath.Join(t.TempDir(), "barefyne")
	if out, err := exec.Command("go", "build", "-tags", "nosqlite migrated_fynedo sqlite_fts5", "-o", bare, "./testdata/barefyne").CombinedOutput(); err != nil {
		t.Fatalf("building the bare Fyne baseline: %v\n%s", err, out)
	}
	env := []string{"DISPLAY=" + display, "FOURMI_STARTUP_PROBE=1", "LANG=en_US.UTF-8"}
	const runs = 4
	var starts, bareStarts []time.Duration
	var rss, hwm, bareRSS float64
	for run := range runs {
		last := run == runs-1
		d, r, h := launch(t, env, last, bin, "--data", dir, "--loopback-only")
		starts = append(starts, d)
		if last {
			rss, hwm = r, h
		}
		d, r, _ = launch(t, env, last, bare)
		bareStarts = append(bareStarts, d)
		if last {
			bareRSS = r
		}
	}
	warm, bareWarm := slices.Min(starts[1:]), slices.Min(bareStarts[1:])
	fmt.Printf("BENCH app-first-window-cold %d ms\n", starts[0].Milliseconds())
	fmt.Printf("BENCH app-first-window-warm %d ms\n", warm.Milliseconds())
	fmt.Printf("BENCH app-first-window-warm-vs-bare-fyne %.2f x\n", float64(warm)/float64(bareWarm))
	fmt.Printf("BENCH app-rss-discover-10k %.1f MB\n", rss)
	fmt.Printf("BENCH app-peak-rss-discover-10k %.1f MB\n", hwm)
	fmt.Printf("BENCH bare-fyne-window-rss %.1f MB\n", bareRSS)
	fmt.Printf("BENCH app-rss-over-bare-fyne %.1f MB\n", rss-bareRSS)
}

// launch runs a GUI program until it reports FOURMI_STARTED and returns how
// long that took; with measure it then waits for the Discover grid to fill
// (first page fetched, thumbnails decoded) and reads its memory.
func launch(t *testing.T, env []string, measure bool, bin string, args ...string) (start time.Duration, rssMB, hwmMB float64) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	errPipe, _ := cmd.StderrPipe()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan time.Duration, 1)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "FOURMI_STARTED") {
				started <- time.Since(t0)
			}
		}
	}()
	select {
	case start = <-started:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s did not start within 60 s", bin)
	}
	if measure {
		time.Sleep(5 * time.Second)
		rssMB, hwmMB = procMemMB(t, cmd.Process.Pid)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Errorf("%s did not quit on SIGTERM within 10 s", bin)
	}
	return start, rssMB, hwmMB
}

// procMemMB reads VmRSS and VmHWM of a process, in MB.
func procMemMB(t *testing.T, pid int) (rss, hwm float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
