package library

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/fourmi-app/fourmi/peer"
)

// uuidRE is a PeerTube UUID (any version; PeerTube makes v4).
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// shortUUIDAlphabet is the flickrBase58 alphabet of PeerTube's short UUIDs
// (the short-uuid package's default).
const shortUUIDAlphabet = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// shortToUUID decodes a PeerTube short UUID (the id in /w/<id> URLs).
func shortToUUID(s string) (string, bool) {
	if len(s) < 16 || len(s) > 23 {
		return "", false
	}
	n := new(big.Int)
	base := big.NewInt(58)
	for _, c := range s {
		i := strings.IndexRune(shortUUIDAlphabet, c)
		if i < 0 {
			return "", false
		}
		n.Mul(n, base).Add(n, big.NewInt(int64(i)))
	}
	if n.BitLen() > 128 {
		return "", false
	}
	h := fmt.Sprintf("%032x", n)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
}

// videoIDOf finds the video id in a PeerTube URL path: /w/<id>,
// /videos/watch/<id>, /videos/embed/<id>, /api/v1/videos/<id>.
func videoIDOf(path string) (string, bool) {
	path = strings.TrimSuffix(path, "/")
	for _, prefix := range []string{"/w/", "/videos/watch/", "/videos/embed/", "/api/v1/videos/"} {
		id, ok := strings.CutPrefix(path, prefix)
		if ok && id != "" && !strings.Contains(id, "/") {
			return id, true
		}
	}
	return "", false
}

// OpenURL resolves what the user pasted, dropped or passed on the command
// line: a PeerTube watch URL (/w/…, /videos/watch/…), a magnet, a .torrent
// URL or a local .torrent path.
//
// A video's details are fetched from the host of the URL and cached (the
// Video is returned, nothing is downloaded yet); a magnet or a torrent is
// added to the transfers (that needs Start). On any error nothing is stored.
func (l *Library) OpenURL(ctx context.Context, input string) (OpenResult, error) {
	in := strings.TrimSpace(input)
	if in == "" {
		return OpenResult{}, errors.New("library: nothing to open")
	}
	lower := strings.ToLower(in)
	switch {
	case strings.HasPrefix(lower, "magnet:"):
		return l.openMagnet(ctx, in)
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return l.openHTTP(ctx, in)
	case strings.HasPrefix(lower, "file://"):
		u, err := url.Parse(in)
		if err != nil {
			return OpenResult{}, fmt.Errorf("library: %q: %w", in, err)
		}
		return l.openFile(ctx, u.Path)
	}
	if strings.Contains(in, "://") {
		return OpenResult{}, fmt.Errorf("library: cannot open %q: only PeerTube video links, magnet links and .torrent files are supported", in)
	}
	if _, err := os.Stat(in); err == nil || strings.HasSuffix(lower, ".torrent") {
		return l.openFile(ctx, in)
	}
	return OpenResult{}, fmt.Errorf("library: cannot open %q: not a PeerTube video link, a magnet link or a .torrent file", in)
}

func (l *Library) openMagnet(ctx context.Context, magnet string) (OpenResult, error) {
	if magnetInfoHash(magnet) == "" {
		return OpenResult{}, fmt.Errorf("library: this magnet link has no BitTorrent info-hash (xt=urn:btih:…)")
	}
	if _, err := l.engine(); err != nil {
		return OpenResult{}, err
	}
	q, _ := url.ParseQuery(strings.TrimPrefix(magnet[len("magnet:"):], "?"))
	// The engine adds the magnet itself (with every xs, ws, tr and x.pe it
	// carries); its torrent URL and web seed are recorded to resume it.
	keep := torrentSource{magnet: magnet}
	for _, xs := range q["xs"] {
		if isHTTP(xs) {
			keep.torrentURL = xs
			break
		}
	}
	for _, ws := range q["ws"] {
		if isHTTP(ws) {
			keep.webSeed = ws
			break
		}
	}
	ih, err := l.startTransfer(ctx, newTransfer{name: q.Get("dn"), src: torrentSource{magnet: magnet}, keep: &keep})
	if err != nil {
		return OpenResult{}, fmt.Errorf("library: adding the magnet: %w", err)
	}
	return l.openedTransfer(ctx, ih)
}

func (l *Library) openedTransfer(ctx context.Context, ih string) (OpenResult, error) {
	t, err := l.TransferByHash(ctx, ih)
	if err != nil {
		return OpenResult{}, err
	}
	return OpenResult{Transfer: &t}, nil
}

func isHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (l *Library) openHTTP(ctx context.Context, raw string) (OpenResult, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return OpenResult{}, fmt.Errorf("library: %q is not a valid link", raw)
	}
	if id, ok := videoIDOf(u.Path); ok {
		v, err := l.openVideo(ctx, u.Scheme+"://"+u.Host, id)
		if err != nil {
			return OpenResult{}, err
		}
		return OpenResult{Video: &v}, nil
	}
	if strings.HasPrefix(u.Path, "/w/p/") || strings.HasPrefix(u.Path, "/videos/watch/playlist/") {
		return OpenResult{}, fmt.Errorf("library: %s is a playlist; open one of its videos", raw)
	}
	if _, err := l.engine(); err != nil {
		return OpenResult{}, err
	}
	if !strings.HasSuffix(strings.ToLower(u.Path), ".torrent") {
		// Not obviously a torrent: ask what it is before fetching it all.
		if err := l.checkTorrentType(ctx, raw); err != nil {
			return OpenResult{}, err
		}
	}
	data, err := l.fetchTorrent(ctx, raw)
	if err != nil {
		return OpenResult{}, fmt.Errorf("library: %w", err)
	}
	return l.openTorrent(ctx, data, raw)
}

// checkTorrentType asks (HEAD, then GET if HEAD is refused) whether a URL
// serves a torrent.
func (l *Library) checkTorrentType(ctx context.Context, raw string) error {
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req, err := http.NewRequestWithContext(ctx, method, raw, nil)
		if err != nil {
			return fmt.Errorf("library: %q: %w", raw, err)
		}
		req.Header.Set("Accept", "application/x-bittorrent")
		resp, err := l.hc.Do(req)
		if err != nil {
			return fmt.Errorf("library: cannot open %s: %w", raw, err)
		}
		var head []byte
		if method == http.MethodGet {
			head, _ = io.ReadAll(io.LimitReader(resp.Body, 64))
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusMethodNotAllowed && method == http.MethodHead {
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("library: cannot open %s: HTTP %s", raw, resp.Status)
		}
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if ct == "application/x-bittorrent" || bytes.HasPrefix(head, []byte("d8:announce")) || bytes.HasPrefix(head, []byte("d4:info")) {
			return nil
		}
		what := ct
		if what == "" {
			what = "an unknown type"
		}
		return fmt.Errorf("library: %s is neither a PeerTube video link nor a .torrent (it serves %s)", raw, what)
	}
	return nil
}

func (l *Library) openFile(ctx context.Context, path string) (OpenResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return OpenResult{}, fmt.Errorf("library: cannot open the torrent file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, peer.MaxMetainfoSize+1))
	if err != nil {
		return OpenResult{}, fmt.Errorf("library: reading %s: %w", path, err)
	}
	if len(data) > peer.MaxMetainfoSize {
		return OpenResult{}, fmt.Errorf("library: %s is not a torrent: larger than %d bytes", path, peer.MaxMetainfoSize)
	}
	if _, err := peer.ParseTorrent(data); err != nil {
		return OpenResult{}, fmt.Errorf("library: %s is not a usable .torrent: %w", path, err)
	}
	if _, err := l.engine(); err != nil {
		return OpenResult{}, err
	}
	return l.openTorrent(ctx, data, "")
}

// openTorrent adds validated .torrent bytes (from torrentURL when fetched).
func (l *Library) openTorrent(ctx context.Context, data []byte, torrentURL string) (OpenResult, error) {
	info, err := peer.ParseTorrent(data)
	if err != nil {
		return OpenResult{}, fmt.Errorf("library: not a usable .torrent: %w", err)
	}
	nt := newTransfer{name: info.Name, size: info.Length, src: torrentSource{metainfo: data, torrentURL: torrentURL}}
	if len(info.WebSeeds) > 0 {
		nt.src.webSeed = info.WebSeeds[0]
	}
	ih, err := l.startTransfer(ctx, nt)
	if err != nil {
		return OpenResult{}, fmt.Errorf("library: adding the torrent: %w", err)
	}
	return l.openedTransfer(ctx, ih)
}

// openVideo fetches a video's details from the instance at base and caches
// them. id is a UUID, a short UUID or a numeric id.
func (l *Library) openVideo(ctx context.Context, base, id string) (Video, error) {
	uuid := id
	if !uuidRE.MatchString(id) {
		if u, ok := shortToUUID(id); ok {
			uuid = u
		} else {
			// A numeric id: ask for the UUID first.
			c, err := l.client(base)
			if err != nil {
				return Video{}, fmt.Errorf("library: %w", err)
			}
			d, err := c.Video(ctx, id)
			if err != nil {
				return Video{}, fmt.Errorf("library: cannot open video %s from %s: %w", id, c.Host(), err)
			}
			uuid = d.UUID
		}
	}
	uuid = strings.ToLower(uuid)
	v, err := l.fetchDetails(ctx, base, uuid)
	if err != nil {
		return Video{}, fmt.Errorf("library: cannot open video %s from %s: %w", id, strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://"), err)
	}
	return l.cacheDetails(ctx, uuid, v, base)
}
