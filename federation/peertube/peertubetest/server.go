// Package peertubetest runs a PeerTube stand-in on loopback for tests,
// benchmarks and screenshots: it serves the JSON captured from a real
// PeerTube 6.3 (../shared/fixtures, hosts rewritten to the test server) and
// synthetic catalogs of any size, with switches for rate limiting, slowness
// and garbage answers. It is never linked into the fourmi binary.
package peertubetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fourmi-app/fourmi/federation/peertube"
)

// CapturedHost is the host the fixtures were captured from.
const CapturedHost = "127.0.0.1:9000"

// CapturedUUID is the UUID of the captured video.
const CapturedUUID = "753d39e4-b7c2-4fe4-9376-587015d360be"

// Server is a running stand-in.
type Server struct {
	*httptest.Server
	fixtures string // captured-6.3 dir, "" when synthetic only

	mu       sync.Mutex
	videos   []json.RawMessage          // catalog order (newest first)
	details  map[string]json.RawMessage // uuid → details JSON
	override map[string]http.HandlerFunc
	files    map[string]servedFile // path → content (ServeBytes, ServeFile)
	served   map[string]int64      // path → body bytes sent for it
	fail429  int
	delay    time.Duration

	Requests atomic.Int64 // every request served
}

// FixturesDir finds ../shared/fixtures/peertube/captured-6.3 beside the
// repository (the directory holding go.mod), or $FOURMI_FIXTURES.
func FixturesDir() (string, error) {
	if d := os.Getenv("FOURMI_FIXTURES"); d != "" {
		return filepath.Join(d, "peertube", "captured-6.3"), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "fixtures", "peertube", "captured-6.3")
			if _, err := os.Stat(d); err != nil {
				return "", fmt.Errorf("fixtures not found at %s: %w", d, err)
			}
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// tb is the part of testing.TB the stand-in needs.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// NewCaptured starts a stand-in serving the captured PeerTube 6.3 answers.
func NewCaptured(t tb) *Server {
	t.Helper()
	dir, err := FixturesDir()
	if err != nil {
		t.Fatalf("peertubetest: %v", err)
	}
	s := newServer()
	s.fixtures = dir
	s.Start()
	t.Cleanup(func() { s.Close() }) // the current server, also after Restart
	var list peertube.Page[json.RawMessage]
	if err := json.Unmarshal(s.fixture("api-videos.json"), &list); err != nil {
		t.Fatalf("peertubetest: api-videos.json: %v", err)
	}
	s.videos = list.Data
	s.details[CapturedUUID] = s.fixture("api-video.json")
	return s
}

// NewSynthetic starts a stand-in with n generated videos and no fixtures
// (for demos, screenshots and benchmarks).
func NewSynthetic(n int) *Server {
	s := newServer()
	s.Start()
	s.AddSynthetic(n)
	return s
}

func newServer() *Server {
	s := &Server{details: map[string]json.RawMessage{}, override: map[string]http.HandlerFunc{},
		files: map[string]servedFile{}, served: map[string]int64{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	return s
}

// Host is the stand-in's host:port.
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "http://") }

// fixture reads a captured file with its hosts rewritten to this server.
func (s *Server) fixture(name string) []byte {
	b, err := os.ReadFile(filepath.Join(s.fixtures, name))
	if err != nil {
		return nil
	}
	b = bytes.ReplaceAll(b, []byte(CapturedHost), []byte(s.Host()))
	// Magnet URIs carry the host URL-encoded (127.0.0.1%3A9000).
	return bytes.ReplaceAll(b, []byte(url.QueryEscape(CapturedHost)), []byte(url.QueryEscape(s.Host())))
}

// Fail429 makes the next n API requests answer 429 with Retry-After: 1.
func (s *Server) Fail429(n int) { s.mu.Lock(); s.fail429 = n; s.mu.Unlock() }

// SetDelay makes every answer wait d first (for timeouts).
func (s *Server) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// Handle overrides one path (without query) with h; nil removes the override.
func (s *Server) Handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.override, path)
		return
	}
	s.override[path] = h
}

// AddSynthetic appends n generated videos to the catalog (older than those
// already there), each with details, files and a thumbnail.
func (s *Server) AddSynthetic(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var uuids []string
	for range n {
		k := len(s.videos)
		d := SyntheticVideo(s.URL, k)
		d.PublishedAt = base.Add(-time.Duration(k) * time.Hour)
		d.CreatedAt, d.UpdatedAt = d.PublishedAt, d.PublishedAt
		lb, _ := json.Marshal(d.Video)
		db, _ := json.Marshal(d)
		s.videos = append(s.videos, lb)
		s.details[d.UUID] = db
		uuids = append(uuids, d.UUID)
	}
	return uuids
}

var words = []string{"Ants", "Forest", "Mountain", "Linux", "Cooking", "Blender", "Ocean", "Bicycle",
	"Free software", "Music", "Gardening", "Physics", "Chess", "Retro games", "Birds", "Rivers",
	"Knitting", "Astronomy", "Bread", "Typography", "Climbing", "Jazz", "Robots", "Volcanoes"}

var channels = []string{"framasoft", "blender_studio", "kitchen_lab", "sky_watch", "river_films", "makers"}

// SyntheticVideo builds video k of a demo catalog served at base.
func SyntheticVideo(base string, k int) peertube.VideoDetails {
	host := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	uuid := fmt.Sprintf("%08x-0000-4000-8000-%012x", 0xf0000000+k, k)
	w1, w2 := words[k%len(words)], words[(k*7+3)%len(words)]
	ch := channels[k%len(channels)]
	var d peertube.VideoDetails
	d.ID = k + 100
	d.UUID = uuid
	d.URL = base + "/videos/watch/" + uuid
	d.Name = fmt.Sprintf("%s and %s, part %d", w1, strings.ToLower(w2), k+1)
	d.Description = fmt.Sprintf("A film about **%s** and *%s*.\n\nEpisode %d of the series. See https://example.org/%d for notes.",
		strings.ToLower(w1), strings.ToLower(w2), k+1, k)
	d.TruncatedDescription = d.Description
	d.Duration = 30 + (k*97)%3600
	d.Views = int64((k * 7919) % 250000)
	d.Likes = int64(k % 300)
	d.Category = peertube.IDLabel{ID: 15, Label: "Science & Technology"}
	d.Licence = peertube.IDLabel{ID: 1, Label: "Attribution"}
	d.Language = peertube.StringLabel{ID: "en", Label: "English"}
	d.Privacy = peertube.IDLabel{ID: 1, Label: "Public"}
	d.ThumbnailPath = "/lazy-static/thumbnails/" + uuid + ".jpg"
	d.PreviewPath = "/lazy-static/previews/" + uuid + ".jpg"
	d.EmbedPath = "/videos/embed/" + uuid
	d.Account = peertube.Actor{ID: 2, Name: ch + "_owner", DisplayName: ch + " owner", URL: base + "/accounts/" + ch + "_owner", Host: host}
	d.Channel = peertube.Actor{ID: 3, Name: ch, DisplayName: strings.ReplaceAll(ch, "_", " "), URL: base + "/video-channels/" + ch, Host: host}
	d.Tags = []string{strings.ToLower(w1), strings.ToLower(w2)}
	d.DownloadEnabled = true
	d.State = peertube.IDLabel{ID: 1, Label: "Published"}
	d.TrackerURLs = []string{base + "/tracker/announce"}
	pl := peertube.StreamingPlaylist{ID: 1, Type: 1, PlaylistURL: base + "/static/streaming-playlists/hls/" + uuid + "/master.m3u8"}
	for _, r := range []struct{ h, w int }{{720, 1280}, {480, 854}, {240, 426}} {
		f := peertube.VideoFile{
			ID: r.h, Resolution: peertube.IDLabel{ID: r.h, Label: strconv.Itoa(r.h) + "p"},
			Width: r.w, Height: r.h, Size: int64(d.Duration) * int64(r.h) * 900, FPS: 25,
			TorrentURL: fmt.Sprintf("%s/lazy-static/torrents/%s-%d-hls.torrent", base, uuid, r.h),
			FileURL:    fmt.Sprintf("%s/static/streaming-playlists/hls/%s/%s-%d-fragmented.mp4", base, uuid, uuid, r.h),
		}
		f.MagnetURI = fmt.Sprintf("magnet:?xt=urn:btih:%040x&dn=%s", k*1000+r.h, uuid)
		pl.Files = append(pl.Files, f)
	}
	d.StreamingPlaylists = []peertube.StreamingPlaylist{pl}
	return d
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	s.mu.Lock()
	delay := s.delay
	h := s.override[r.URL.Path]
	limited := false
	if s.fail429 > 0 && strings.HasPrefix(r.URL.Path, "/api/") {
		s.fail429--
		limited = true
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if limited {
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"Too many requests, please try again later."}`))
		return
	}
	if h != nil {
		h(w, r)
		return
	}
	if s.serveFile(w, r) {
		return
	}
	p := r.URL.Path
	switch {
	case p == "/api/v1/config":
		if s.fixtures != "" {
			s.writeJSON(w, s.fixture("api-config.json"))
			return
		}
		s.writeJSON(w, []byte(`{"instance":{"name":"Demo PeerTube","shortDescription":"A local demo catalog"},"serverVersion":"6.3.0","search":{"searchIndex":{"enabled":false}},"tracker":{"enabled":true}}`))
	case p == "/api/v1/videos":
		s.list(w, r, "")
	case p == "/api/v1/search/videos":
		s.list(w, r, strings.ToLower(r.URL.Query().Get("search")))
	case strings.HasPrefix(p, "/api/v1/video-channels/") && strings.HasSuffix(p, "/videos"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/api/v1/video-channels/"), "/videos")
		s.listActor(w, r, func(v peertube.Video) bool { return v.Channel.Name == name || v.Channel.Handle() == name })
	case strings.HasPrefix(p, "/api/v1/accounts/") && strings.HasSuffix(p, "/videos"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/api/v1/accounts/"), "/videos")
		s.listActor(w, r, func(v peertube.Video) bool { return v.Account.Name == name || v.Account.Handle() == name })
	case strings.HasPrefix(p, "/api/v1/videos/") && strings.HasSuffix(p, "/description"):
		uuid := strings.TrimSuffix(strings.TrimPrefix(p, "/api/v1/videos/"), "/description")
		d, ok := s.detail(uuid)
		if !ok {
			notFound(w)
			return
		}
		b, _ := json.Marshal(map[string]string{"description": d.Description})
		s.writeJSON(w, b)
	case strings.HasPrefix(p, "/api/v1/videos/"):
		uuid := strings.TrimPrefix(p, "/api/v1/videos/")
		s.mu.Lock()
		b, ok := s.details[uuid]
		s.mu.Unlock()
		if !ok {
			notFound(w)
			return
		}
		s.writeJSON(w, b)
	case strings.HasPrefix(p, "/lazy-static/thumbnails/"), strings.HasPrefix(p, "/lazy-static/previews/"):
		w.Header().Set("Content-Type", "image/jpeg")
		wd, ht := 280, 157
		if strings.HasPrefix(p, "/lazy-static/previews/") {
			wd, ht = 850, 480
		}
		w.Write(Thumbnail(p, wd, ht))
	case p == "/" || strings.HasPrefix(p, "/videos/"):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!DOCTYPE html><html><body>PeerTube</body></html>"))
	default:
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(`{"type":"about:blank","title":"Not Found","detail":"Video not found","status":404}`))
}

func (s *Server) writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Powered-By", "PeerTube")
	w.Write(b)
}

func (s *Server) detail(uuid string) (peertube.VideoDetails, bool) {
	s.mu.Lock()
	b, ok := s.details[uuid]
	s.mu.Unlock()
	var d peertube.VideoDetails
	if !ok || json.Unmarshal(b, &d) != nil {
		return d, false
	}
	return d, true
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, search string) {
	s.listBy(w, r, func(v peertube.Video) bool {
		if search == "" {
			return true
		}
		hay := strings.ToLower(v.Name + " " + v.Description + " " + v.Channel.DisplayName)
		for _, term := range strings.Fields(search) {
			if !strings.Contains(hay, term) {
				return false
			}
		}
		return true
	})
}

// listActor lists a channel's or account's videos; like PeerTube it answers
// 404 for an actor it does not know.
func (s *Server) listActor(w http.ResponseWriter, r *http.Request, keep func(peertube.Video) bool) {
	s.mu.Lock()
	known := false
	for _, raw := range s.videos {
		var v peertube.Video
		if json.Unmarshal(raw, &v) == nil && keep(v) {
			known = true
			break
		}
	}
	s.mu.Unlock()
	if !known {
		notFound(w)
		return
	}
	s.listBy(w, r, keep)
}

func (s *Server) listBy(w http.ResponseWriter, r *http.Request, keep func(peertube.Video) bool) {
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("start"))
	count, err := strconv.Atoi(q.Get("count"))
	if err != nil || count <= 0 {
		count = 15
	}
	if count > 100 || start < 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"status":400,"detail":"Incorrect request parameters: count"}`))
		return
	}
	type row struct {
		raw json.RawMessage
		v   peertube.Video
	}
	s.mu.Lock()
	var rows []row
	for _, raw := range s.videos {
		var v peertube.Video
		if json.Unmarshal(raw, &v) == nil && keep(v) {
			rows = append(rows, row{raw, v})
		}
	}
	s.mu.Unlock()
	switch q.Get("sort") {
	case "-views", "-trending":
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].v.Views > rows[j].v.Views })
	}
	page := peertube.Page[json.RawMessage]{Total: len(rows), Data: []json.RawMessage{}}
	for i := start; i < len(rows) && i < start+count; i++ {
		page.Data = append(page.Data, rows[i].raw)
	}
	b, _ := json.Marshal(page)
	s.writeJSON(w, b)
}

// Thumbnail draws a deterministic gradient JPEG for key (a path or a title).
func Thumbnail(key string, w, h int) []byte {
	f := fnv.New32a()
	f.Write([]byte(key))
	seed := f.Sum32()
	c1 := color.RGBA{uint8(seed), uint8(seed >> 8), uint8(seed >> 16), 255}
	c2 := color.RGBA{255 - c1.R/2, 255 - c1.G/3, 255 - c1.B/2, 255}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			t := float64(x+y) / float64(w+h)
			// a soft circle to look less flat
			dx, dy := float64(x-w/3), float64(y-h/2)
			if dx*dx+dy*dy < float64(h*h)/9 {
				t = 1 - t
			}
			img.Set(x, y, color.RGBA{
				uint8(float64(c1.R)*(1-t) + float64(c2.R)*t),
				uint8(float64(c1.G)*(1-t) + float64(c2.G)*t),
				uint8(float64(c1.B)*(1-t) + float64(c2.B)*t), 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}

// AddVideo adds a video to the front of the catalog (the newest), with its
// details served at /api/v1/videos/{uuid}, and also at its shortUUID and
// numeric id when set, as PeerTube does.
func (s *Server) AddVideo(d peertube.VideoDetails) {
	lb, _ := json.Marshal(d.Video)
	db, _ := json.Marshal(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.videos = append([]json.RawMessage{lb}, s.videos...)
	s.details[d.UUID] = db
	if d.ShortUUID != "" {
		s.details[d.ShortUUID] = db
	}
	if d.ID != 0 {
		s.details[strconv.Itoa(d.ID)] = db
	}
}

// servedFile is content served at one path with Range support.
type servedFile struct {
	contentType string
	data        []byte // ServeBytes
	file        string // ServeFile
}

// ServeBytes serves data at path (GET and HEAD, with Range requests) as
// contentType. Handle overrides it.
func (s *Server) ServeBytes(path, contentType string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = servedFile{contentType: contentType, data: data}
}

// ServeFile serves the local file at path (GET and HEAD, with Range
// requests), typed by its extension. Handle overrides it.
func (s *Server) ServeFile(path, file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = servedFile{file: file}
}

// Served is how many body bytes were sent for path by ServeBytes/ServeFile.
func (s *Server) Served(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[path]
}

// serveFile answers a path registered with ServeBytes or ServeFile.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f, ok := s.files[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		return false
	}
	var content io.ReadSeeker
	ct := f.contentType
	if f.file != "" {
		fh, err := os.Open(f.file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return true
		}
		defer fh.Close()
		content = fh
		if ct == "" {
			ct = mime.TypeByExtension(filepath.Ext(f.file))
		}
	} else {
		content = bytes.NewReader(f.data)
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	http.ServeContent(&countingWriter{ResponseWriter: w, s: s, path: r.URL.Path}, r, "", time.Time{}, content)
	return true
}

// countingWriter adds the body bytes it writes to Server.served.
type countingWriter struct {
	http.ResponseWriter
	s    *Server
	path string
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.s.mu.Lock()
	c.s.served[c.path] += int64(n)
	c.s.mu.Unlock()
	return n, err
}

// Restart brings a closed (or running) stand-in back on the same address
// with the same catalog and files, as an instance coming back online. The
// Server's Close then closes the new one.
func (s *Server) Restart() error {
	addr := s.Listener.Addr().String()
	s.CloseClientConnections()
	s.Server.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("peertubetest: restarting on %s: %w", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	s.Server = srv
	return nil
}
