package peer

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// ErrInvalidTorrent is wrapped by every error about metainfo that Fourmi
// refuses to use (hostile paths, absurd sizes, broken piece tables).
var ErrInvalidTorrent = errors.New("peer: invalid torrent")

// Limits on metainfo from the network. They are generous for video (PeerTube
// makes one single-file torrent per video file, with a piece length of about
// size/1024 rounded to a power of two, at least 16 KiB) and refuse what would
// exhaust memory or disk.
const (
	MinPieceLength  = 16 << 10 // PeerTube's smallest; BitTorrent's block size
	MaxPieceLength  = 64 << 20 // PeerTube reaches this only for files > ~90 GiB
	MaxTotalLength  = 1 << 40  // 1 TiB
	MaxPieces       = 1 << 18  // 5 MiB of piece hashes
	MaxFiles        = 10000
	MaxMetainfoSize = 8 << 20 // a .torrent file (or info dictionary) larger than this is refused
	maxComponentLen = 255     // bytes, the usual file-name limit
	maxPathDepth    = 64
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidTorrent, fmt.Sprintf(format, args...))
}

// ValidateInfo checks an info dictionary before any of it reaches the disk:
// BitTorrent v1 only; names and path components non-empty, valid UTF-8, no
// "." or "..", no separators, control characters or drive letters; sizes
// non-negative and at most MaxTotalLength in total; at most MaxFiles files,
// none duplicated; a power-of-two piece length within
// [MinPieceLength, MaxPieceLength]; a piece table of exactly
// ceil(total/pieceLength) SHA-1 hashes, at most MaxPieces.
func ValidateInfo(info *metainfo.Info) error {
	if info == nil {
		return invalidf("no info dictionary")
	}
	if info.HasV2() || info.FileTree.Dir != nil {
		return invalidf("BitTorrent v2 (meta version %d) torrents are not supported", info.MetaVersion)
	}
	if err := checkComponent(info.Name); err != nil {
		return invalidf("name: %v", err)
	}
	if info.NameUtf8 != "" {
		if err := checkComponent(info.NameUtf8); err != nil {
			return invalidf("name.utf-8: %v", err)
		}
	}
	if info.Length != 0 && len(info.Files) != 0 {
		return invalidf("both a length and a file list")
	}
	if len(info.Files) > MaxFiles {
		return invalidf("%d files, more than the limit of %d", len(info.Files), MaxFiles)
	}
	var total int64
	if len(info.Files) == 0 {
		if info.Length < 0 || info.Length > MaxTotalLength {
			return invalidf("length %d outside [0, %d]", info.Length, int64(MaxTotalLength))
		}
		total = info.Length
	} else {
		seen := make(map[string]int, len(info.Files))
		for i, f := range info.Files {
			if err := checkPath(f.Path); err != nil {
				return invalidf("file %d: path: %v", i, err)
			}
			if f.PathUtf8 != nil {
				if err := checkPath(f.PathUtf8); err != nil {
					return invalidf("file %d: path.utf-8: %v", i, err)
				}
			}
			p := strings.Join(f.BestPath(), "/")
			if j, dup := seen[p]; dup {
				return invalidf("files %d and %d have the same path %q", j, i, p)
			}
			seen[p] = i
			if f.Length < 0 || f.Length > MaxTotalLength {
				return invalidf("file %d: length %d outside [0, %d]", i, f.Length, int64(MaxTotalLength))
			}
			total += f.Length // cannot overflow: each ≤ 2^40 and at most MaxFiles of them
			if total > MaxTotalLength {
				return invalidf("total length over the limit of %d bytes", int64(MaxTotalLength))
			}
		}
	}
	if total == 0 {
		return invalidf("no data (total length 0)")
	}
	pl := info.PieceLength
	if pl < MinPieceLength || pl > MaxPieceLength || pl&(pl-1) != 0 {
		return invalidf("piece length %d is not a power of two in [%d, %d]", pl, MinPieceLength, MaxPieceLength)
	}
	if len(info.Pieces)%20 != 0 {
		return invalidf("piece hashes are %d bytes, not a multiple of 20", len(info.Pieces))
	}
	n := len(info.Pieces) / 20
	if n > MaxPieces {
		return invalidf("%d pieces, more than the limit of %d", n, MaxPieces)
	}
	if want := (total + pl - 1) / pl; int64(n) != want {
		return invalidf("%d piece hashes for %d bytes in pieces of %d (want %d)", n, total, pl, want)
	}
	return nil
}

func checkPath(p []string) error {
	if len(p) == 0 {
		return errors.New("empty")
	}
	if len(p) > maxPathDepth {
		return fmt.Errorf("%d components, more than %d", len(p), maxPathDepth)
	}
	for i, c := range p {
		if err := checkComponent(c); err != nil {
			return fmt.Errorf("component %d: %w", i, err)
		}
	}
	return nil
}

// checkComponent refuses a file or directory name that could escape the
// torrent's directory or is unusable on common file systems.
func checkComponent(c string) error {
	switch {
	case c == "":
		return errors.New("empty name")
	case c == "." || c == "..":
		return fmt.Errorf("%q is a directory reference", c)
	case len(c) > maxComponentLen:
		return fmt.Errorf("name of %d bytes, more than %d", len(c), maxComponentLen)
	case !utf8.ValidString(c):
		return fmt.Errorf("name %q is not valid UTF-8", c)
	case len(c) >= 2 && c[1] == ':' && (c[0]|0x20 >= 'a' && c[0]|0x20 <= 'z'):
		return fmt.Errorf("name %q starts with a drive letter", c)
	}
	for _, r := range c {
		switch {
		case r == '/' || r == '\\':
			return fmt.Errorf("name %q contains a path separator", c)
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("name %q contains a control character", c)
		}
	}
	return nil
}

// parsedTorrent is a validated .torrent file.
type parsedTorrent struct {
	mi       *metainfo.MetaInfo
	info     metainfo.Info
	infoHash InfoHash
	webSeeds []string // http(s) only
}

// parseTorrent decodes and validates .torrent bytes. Web seeds that are not
// absolute http(s) URLs are dropped (they cannot be used), everything else
// that is wrong is an error wrapping ErrInvalidTorrent.
func parseTorrent(data []byte) (*parsedTorrent, error) {
	if len(data) > MaxMetainfoSize {
		return nil, invalidf(".torrent of %d bytes, more than the limit of %d", len(data), MaxMetainfoSize)
	}
	var mi metainfo.MetaInfo
	d := bencode.NewDecoder(bytes.NewReader(data))
	d.MaxStrLen = int64(len(data))
	if err := d.Decode(&mi); err != nil {
		return nil, invalidf("not a .torrent file: %v", err)
	}
	if err := d.ReadEOF(); err != nil {
		return nil, invalidf("trailing data after the .torrent: %v", err)
	}
	if len(mi.InfoBytes) == 0 {
		return nil, invalidf("no info dictionary")
	}
	info, err := decodeInfo(mi.InfoBytes)
	if err != nil {
		return nil, err
	}
	p := &parsedTorrent{mi: &mi, info: info, infoHash: InfoHash(metainfo.HashBytes(mi.InfoBytes))}
	for _, u := range mi.UrlList {
		if isHTTPURL(u) {
			p.webSeeds = append(p.webSeeds, u)
		}
	}
	return p, nil
}

// decodeInfo decodes and validates a bencoded info dictionary.
func decodeInfo(b []byte) (metainfo.Info, error) {
	var info metainfo.Info
	if len(b) > MaxMetainfoSize {
		return info, invalidf("info dictionary of %d bytes, more than the limit of %d", len(b), MaxMetainfoSize)
	}
	d := bencode.NewDecoder(bytes.NewReader(b))
	d.MaxStrLen = int64(len(b))
	if err := d.Decode(&info); err != nil {
		return info, invalidf("info dictionary: %v", err)
	}
	if err := d.ReadEOF(); err != nil {
		return info, invalidf("trailing data after the info dictionary: %v", err)
	}
	if err := ValidateInfo(&info); err != nil {
		return info, err
	}
	return info, nil
}

// ValidateInfoBytes decodes a bencoded info dictionary and validates it.
func ValidateInfoBytes(b []byte) error {
	_, err := decodeInfo(b)
	return err
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// TorrentInfo describes a validated .torrent file.
type TorrentInfo struct {
	InfoHash    InfoHash
	Name        string
	Length      int64 // total bytes
	PieceLength int64
	NumPieces   int
	Files       []FileInfo
	WebSeeds    []string   // BEP 19 url-list, http(s) only
	Trackers    [][]string // announce-list tiers (announce as a single tier if no list)
}

// FileInfo is one file of a torrent.
type FileInfo struct {
	Index  int
	Path   string // slash-separated, relative to the torrent's directory; the name for single-file torrents
	Length int64
}

// ParseTorrent decodes and validates .torrent bytes (see ValidateInfo).
func ParseTorrent(data []byte) (TorrentInfo, error) {
	p, err := parseTorrent(data)
	if err != nil {
		return TorrentInfo{}, err
	}
	return p.summary(), nil
}

func (p *parsedTorrent) summary() TorrentInfo {
	return TorrentInfo{
		InfoHash:    p.infoHash,
		Name:        p.info.BestName(),
		Length:      p.info.TotalLength(),
		PieceLength: p.info.PieceLength,
		NumPieces:   p.info.NumPieces(),
		Files:       filesOf(&p.info),
		WebSeeds:    p.webSeeds,
		Trackers:    p.mi.UpvertedAnnounceList(),
	}
}

func filesOf(info *metainfo.Info) []FileInfo {
	var out []FileInfo
	for i, f := range info.UpvertedFiles() {
		path := info.BestName()
		if len(info.Files) != 0 {
			path = strings.Join(f.BestPath(), "/")
		}
		out = append(out, FileInfo{Index: i, Path: path, Length: f.Length})
	}
	return out
}
