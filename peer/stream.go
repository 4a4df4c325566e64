package peer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// Readahead bounds: the stream prioritises about readaheadSeconds of video
// ahead of the player, within [minReadahead, maxReadahead].
const (
	readaheadSeconds = 10
	minReadahead     = 1 << 20
	maxReadahead     = 64 << 20
)

// streamServer serves torrent files to local players over HTTP with Range
// support. Every stream has its own unguessable token in the URL path, and
// requests must name the server's loopback address in Host (a page on the
// web that rebinds a DNS name to 127.0.0.1 sends its own name and is
// refused).
type streamServer struct {
	e        *Engine
	ln       net.Listener
	srv      *http.Server
	hostport string          // "127.0.0.1:port", as in the URLs
	hosts    map[string]bool // accepted Host headers

	mu      sync.Mutex
	byToken map[string]*stream
	byFile  map[streamKey]*stream
}

type streamKey struct {
	ih   InfoHash
	file int
}

type stream struct {
	key       streamKey
	token     string
	readahead int64
	url       string
}

func newStreamServer(e *Engine, addr string) (*streamServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("peer: stream server: %w", err)
	}
	s := &streamServer{
		e:        e,
		ln:       ln,
		hostport: ln.Addr().String(),
		byToken:  map[string]*stream{},
		byFile:   map[streamKey]*stream{},
	}
	_, port, _ := net.SplitHostPort(s.hostport)
	s.hosts = map[string]bool{s.hostport: true, "localhost:" + port: true}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream/{token}/{name}", s.serveStream)
	s.srv = &http.Server{
		Handler:           s.checkHost(mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	return s, nil
}

func (s *streamServer) serve() {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.e.log.Error("stream server stopped", "err", err)
	}
}

// close stops accepting and cancels the requests in flight (their torrent
// readers see the request context end).
func (s *streamServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
}

func (s *streamServer) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts[strings.ToLower(r.Host)] {
			http.Error(w, "forbidden host", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// forget invalidates the streams of a removed torrent.
func (s *streamServer) forget(ih InfoHash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.byFile {
		if k.ih == ih {
			delete(s.byFile, k)
			delete(s.byToken, st.token)
		}
	}
}

// StreamURL returns the loopback URL that streams file fileIndex of a
// torrent, for a player. duration is the video's length when known (it sizes
// the readahead to about 10 s of video); 0 uses Config.DefaultReadahead. The
// URL stays the same for the same file while the torrent is in the engine,
// and stops working when it is removed or the engine closes. Reading the
// URL prioritises the pieces under and ahead of the player's position;
// the rest of the file keeps downloading for seeding.
func (e *Engine) StreamURL(ih InfoHash, fileIndex int, duration time.Duration) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, err := e.handleLocked(ih)
	if err != nil {
		return "", err
	}
	if h.infoBytes == nil {
		return "", ErrNoInfo
	}
	files := filesOf(h.t.Info())
	if fileIndex < 0 || fileIndex >= len(files) {
		return "", fmt.Errorf("peer: torrent %v has no file %d (it has %d)", ih, fileIndex, len(files))
	}
	readahead := e.cfg.DefaultReadahead
	if duration > 0 {
		bitrate := float64(files[fileIndex].Length) / duration.Seconds()
		readahead = min(max(int64(bitrate*readaheadSeconds), minReadahead), maxReadahead)
	}
	return e.stream.register(streamKey{ih, fileIndex}, files[fileIndex].Path, readahead)
}

func (s *streamServer) register(k streamKey, name string, readahead int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.byFile[k]; st != nil {
		st.readahead = readahead
		return st.url, nil
	}
	st := &stream{key: k, token: rand.Text(), readahead: readahead}
	st.url = fmt.Sprintf("http://%s/stream/%s/%s", s.hostport, st.token, escapeName(name))
	s.byToken[st.token] = st
	s.byFile[k] = st
	return st.url, nil
}

// contentTypes covers what PeerTube serves; http.ServeContent sniffs the rest.
var contentTypes = map[string]string{
	".mp4": "video/mp4", ".m4v": "video/mp4", ".m4a": "audio/mp4", ".webm": "video/webm",
	".mkv": "video/x-matroska", ".ogv": "video/ogg", ".ogg": "audio/ogg", ".mp3": "audio/mpeg",
}

func (s *streamServer) serveStream(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// net/http would recover a panic and keep serving, but a panic inside
		// anacrolix leaves its client lock held and the engine deadlocked:
		// crash instead, with the reason.
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			s.e.log.Error("panic while streaming", "panic", v)
			go panic(v)
			select {}
		}
	}()
	s.mu.Lock()
	st := s.byToken[r.PathValue("token")]
	var readahead int64
	if st != nil {
		readahead = st.readahead
	}
	s.mu.Unlock()
	if st == nil {
		http.NotFound(w, r)
		return
	}
	e := s.e
	e.mu.Lock()
	h := e.torrents[st.key.ih]
	ok := h != nil && h.infoBytes != nil
	if ok {
		e.streamStartedLocked(h)
		defer e.streamEnded(h)
	}
	e.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	files := h.t.Files()
	if st.key.file >= len(files) {
		http.NotFound(w, r)
		return
	}
	f := files[st.key.file]
	tr := f.NewReader()
	defer tr.Close()
	tr.SetContext(r.Context())
	tr.SetResponsive()
	tr.SetReadahead(readahead)
	rd := &streamReader{Reader: tr, e: e, h: h, readahead: readahead, offset: f.Offset(), length: f.Length(), moved: true}
	rd.f = e.startStreamFetch(r.Context(), h, readahead)

	name := path.Base(f.DisplayPath())
	ext := strings.ToLower(path.Ext(name))
	ct := contentTypes[ext]
	if ct == "" {
		ct = mime.TypeByExtension(ext)
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, rd)
}

// escapeName is the last path segment of stream URLs (players guess the
// format from it).
func escapeName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return url.PathEscape(name)
}
