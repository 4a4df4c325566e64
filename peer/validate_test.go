package peer

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// fixtures is the shared fixture tree, beside the repository (see DESIGN.md §3).
const fixtures = "../../shared/fixtures/peertube"

func realTorrentFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtures, "captured-6.3/torrents/*.torrent"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(fixtures, "packages/tests/fixtures/video-720p.torrent"))
	if len(files) < 5 {
		t.Fatalf("fixtures missing: found %v", files)
	}
	return files
}

func TestParseTorrentAcceptsRealPeerTubeTorrents(t *testing.T) {
	for _, f := range realTorrentFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ti, err := ParseTorrent(data)
			if err != nil {
				t.Fatalf("real PeerTube torrent refused: %v", err)
			}
			mi, err := metainfo.Load(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if want := InfoHash(mi.HashInfoBytes()); ti.InfoHash != want {
				t.Errorf("info-hash %v, want %v", ti.InfoHash, want)
			}
			if len(ti.Files) != 1 || ti.Files[0].Path != ti.Name || ti.Files[0].Length != ti.Length || ti.Length <= 0 {
				t.Errorf("want one file named after the torrent, got %+v (name %q, length %d)", ti.Files, ti.Name, ti.Length)
			}
			if len(ti.WebSeeds) != 1 || !strings.HasPrefix(ti.WebSeeds[0], "http") {
				t.Errorf("want PeerTube's url-list web seed, got %q", ti.WebSeeds)
			}
			if len(ti.Trackers) != 2 {
				t.Errorf("want 2 tracker tiers (ws + http), got %q", ti.Trackers)
			}
			if ti.NumPieces != int((ti.Length+ti.PieceLength-1)/ti.PieceLength) {
				t.Errorf("%d pieces for %d bytes of %d", ti.NumPieces, ti.Length, ti.PieceLength)
			}
		})
	}
}

// goodInfo is a valid single-file info of 3 pieces of 16 KiB (the last short).
func goodInfo() metainfo.Info {
	const length = 2*16384 + 100
	return metainfo.Info{
		Name:        "video-720.mp4",
		PieceLength: 16384,
		Length:      length,
		Pieces:      make([]byte, 3*20),
	}
}

func goodMultiInfo() metainfo.Info {
	return metainfo.Info{
		Name:        "dir",
		PieceLength: 16384,
		Files: []metainfo.FileInfo{
			{Path: []string{"a.mp4"}, Length: 20000},
			{Path: []string{"sub", "b.mp4"}, Length: 20000},
		},
		Pieces: make([]byte, 3*20),
	}
}

func TestValidateInfo(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*metainfo.Info)
		wantErr string // substring; "" means valid
	}{
		{"single file ok", func(*metainfo.Info) {}, ""},
		{"dotdot name", func(i *metainfo.Info) { i.Name = ".." }, "directory reference"},
		{"slash in name", func(i *metainfo.Info) { i.Name = "../../etc/passwd" }, "path separator"},
		{"absolute name", func(i *metainfo.Info) { i.Name = "/etc/passwd" }, "path separator"},
		{"backslash name", func(i *metainfo.Info) { i.Name = `..\..\x` }, "path separator"},
		{"drive letter", func(i *metainfo.Info) { i.Name = `C:x.mp4` }, "drive letter"},
		{"empty name", func(i *metainfo.Info) { i.Name = "" }, "empty name"},
		{"bad utf-8 name", func(i *metainfo.Info) { i.Name = "\xff\xfe.mp4" }, "UTF-8"},
		{"control char", func(i *metainfo.Info) { i.Name = "a\x00b" }, "control character"},
		{"hostile name.utf-8", func(i *metainfo.Info) { i.NameUtf8 = ".." }, "name.utf-8"},
		{"long name", func(i *metainfo.Info) { i.Name = strings.Repeat("a", 300) }, "more than 255"},
		{"piece length not power of two", func(i *metainfo.Info) { i.PieceLength = 20000 }, "power of two"},
		{"piece length too small", func(i *metainfo.Info) { i.PieceLength = 8192; i.Pieces = make([]byte, 5*20) }, "power of two"},
		{"piece length huge", func(i *metainfo.Info) { i.PieceLength = 1 << 30; i.Pieces = make([]byte, 20) }, "power of two"},
		{"piece length zero", func(i *metainfo.Info) { i.PieceLength = 0 }, "power of two"},
		{"pieces not multiple of 20", func(i *metainfo.Info) { i.Pieces = make([]byte, 59) }, "multiple of 20"},
		{"too few pieces", func(i *metainfo.Info) { i.Pieces = make([]byte, 2*20) }, "want 3"},
		{"too many pieces", func(i *metainfo.Info) { i.Pieces = make([]byte, 4*20) }, "want 3"},
		{"negative length", func(i *metainfo.Info) { i.Length = -1 }, "outside"},
		{"zero length", func(i *metainfo.Info) { i.Length = 0; i.Pieces = nil }, "no data"},
		{"over 1 TiB", func(i *metainfo.Info) { i.Length = 2 << 40; i.PieceLength = 64 << 20 }, "outside"},
		{"absurd piece count", func(i *metainfo.Info) {
			i.Length = (MaxPieces + 1) * 16384
			i.Pieces = make([]byte, (MaxPieces+1)*20)
		}, "more than the limit"},
		{"v2", func(i *metainfo.Info) { i.MetaVersion = 2 }, "v2"},
		{"length and files", func(i *metainfo.Info) {
			i.Files = []metainfo.FileInfo{{Path: []string{"a"}, Length: 1}}
		}, "both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info := goodInfo()
			c.mutate(&info)
			err := ValidateInfo(&info)
			checkValidation(t, err, c.wantErr)
		})
	}
}

func TestValidateMultiFileInfo(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*metainfo.Info)
		wantErr string
	}{
		{"ok", func(*metainfo.Info) {}, ""},
		{"dotdot component", func(i *metainfo.Info) { i.Files[1].Path = []string{"..", "..", "x"} }, "file 1: path: component 0"},
		{"dot component", func(i *metainfo.Info) { i.Files[1].Path = []string{"sub", ".", "x"} }, "directory reference"},
		{"empty component", func(i *metainfo.Info) { i.Files[1].Path = []string{"sub", "", "x"} }, "component 1: empty name"},
		{"empty path", func(i *metainfo.Info) { i.Files[0].Path = nil }, "file 0: path: empty"},
		{"absolute component", func(i *metainfo.Info) { i.Files[0].Path = []string{"/etc", "passwd"} }, "path separator"},
		{"hostile path.utf-8", func(i *metainfo.Info) { i.Files[0].PathUtf8 = []string{"..", "x"} }, "path.utf-8"},
		{"duplicate path", func(i *metainfo.Info) { i.Files[1].Path = []string{"a.mp4"} }, "same path"},
		{"deep path", func(i *metainfo.Info) {
			p := make([]string, 100)
			for k := range p {
				p[k] = "d"
			}
			i.Files[0].Path = p
		}, "components"},
		{"negative file", func(i *metainfo.Info) { i.Files[0].Length = -5 }, "outside"},
		{"too many files", func(i *metainfo.Info) {
			i.Files = make([]metainfo.FileInfo, MaxFiles+1)
		}, "more than the limit"},
		{"total over 1 TiB", func(i *metainfo.Info) {
			i.Files[0].Length = 1 << 40
			i.Files[1].Length = 1 << 40
		}, "total length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info := goodMultiInfo()
			c.mutate(&info)
			checkValidation(t, ValidateInfo(&info), c.wantErr)
		})
	}
}

func checkValidation(t *testing.T, err error, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("valid info refused: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("hostile info accepted, want error containing %q", wantErr)
	}
	if !errors.Is(err, ErrInvalidTorrent) {
		t.Errorf("error %v does not wrap ErrInvalidTorrent", err)
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Errorf("error %q, want it to contain %q", err, wantErr)
	}
}

// encodeTorrent builds .torrent bytes around info with bencode, as an
// attacker would.
func encodeTorrent(t *testing.T, info any, urlList ...string) []byte {
	t.Helper()
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi := metainfo.MetaInfo{InfoBytes: ib, Announce: "http://127.0.0.1:1/announce", UrlList: urlList}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseTorrentRefusesHostileBytes(t *testing.T) {
	bad := goodInfo()
	bad.Name = "../../.bashrc"
	// A raw dictionary: the path list holds an integer where a string belongs.
	typeConfused := map[string]any{
		"name": "x", "piece length": 16384, "pieces": string(make([]byte, 20)),
		"files": []any{map[string]any{"length": 10, "path": []any{1}}},
	}
	cases := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"not bencode", []byte("<html>404</html>"), "not a .torrent"},
		{"empty", nil, "not a .torrent"},
		{"no info", []byte("d8:announce3:abce"), "no info"},
		{"dotdot name", encodeTorrent(t, bad), "path separator"},
		{"type confusion", encodeTorrent(t, typeConfused), "info dictionary"},
		{"trailing garbage", append(encodeTorrent(t, goodInfo()), "xyz"...), "trailing"},
		{"string length bomb", []byte("d4:infod6:pieces99999999999:"), "not a .torrent"},
		{"oversized", make([]byte, MaxMetainfoSize+1), "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseTorrent(c.data)
			checkValidation(t, err, c.wantErr)
		})
	}
}

func TestParseTorrentKeepsOnlyHTTPWebSeeds(t *testing.T) {
	data := encodeTorrent(t, goodInfo(), "ftp://x/y", "https://peertube.example/static/web-videos/a-720.mp4", "javascript:alert(1)", "http:///nohost")
	ti, err := ParseTorrent(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ti.WebSeeds) != 1 || ti.WebSeeds[0] != "https://peertube.example/static/web-videos/a-720.mp4" {
		t.Errorf("web seeds %q", ti.WebSeeds)
	}
	ib, _ := bencode.Marshal(goodInfo())
	if ti.InfoHash != InfoHash(sha1.Sum(ib)) {
		t.Errorf("info-hash %v is not the SHA-1 of the info bytes", ti.InfoHash)
	}
}

func TestParseInfoHash(t *testing.T) {
	h, err := ParseInfoHash("CAB7A3977C4D43F7167A5132EBE498A21253172D")
	if err != nil || h.String() != "cab7a3977c4d43f7167a5132ebe498a21253172d" {
		t.Fatalf("got %v, %v", h, err)
	}
	for _, s := range []string{"", "cab7", strings.Repeat("zz", 20)} {
		if _, err := ParseInfoHash(s); err == nil {
			t.Errorf("ParseInfoHash(%q) accepted", s)
		}
	}
}
