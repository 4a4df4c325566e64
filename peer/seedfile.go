package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// SeedFile adds a single-file torrent (e.g. one just made by CreateTorrent)
// whose data is the local file at path, and seeds it. The file is copied
// into the data dir — never linked: a failing piece would otherwise be
// re-downloaded into the user's original — then its pieces are verified in
// the background (Stats shows progress; WaitComplete waits).
func (e *Engine) SeedFile(ctx context.Context, torrentData []byte, path string) (InfoHash, error) {
	p, err := parseTorrent(torrentData)
	if err != nil {
		return InfoHash{}, err
	}
	if len(p.info.Files) != 0 {
		return InfoHash{}, errors.New("peer: SeedFile takes a single-file torrent")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return InfoHash{}, fmt.Errorf("peer: seed file: %w", err)
	}
	if fi.Size() != p.info.Length {
		return InfoHash{}, fmt.Errorf("peer: seed file %s: %d bytes, the torrent says %d", path, fi.Size(), p.info.Length)
	}
	dst := filepath.Join(e.dataDir(), p.infoHash.String(), p.info.BestName())
	if st, err := os.Stat(dst); err != nil || st.Size() != fi.Size() {
		if err := copyFile(ctx, path, dst); err != nil {
			return InfoHash{}, fmt.Errorf("peer: seed file: %w", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return p.infoHash, e.addParsedLocked(p, nil)
}

func copyFile(ctx context.Context, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	out, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	if _, err := io.Copy(out, ctxReader{ctx, in}); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(out.Name(), dst)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
