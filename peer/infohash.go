package peer

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/anacrolix/torrent/metainfo"
)

// InfoHash identifies a torrent: the SHA-1 of its bencoded info dictionary
// (BitTorrent v1).
type InfoHash [20]byte

// String is the lower-case 40-hex form used in magnets and file names.
func (h InfoHash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero value.
func (h InfoHash) IsZero() bool { return h == InfoHash{} }

// ParseInfoHash parses a 40-hex info-hash (either case).
func ParseInfoHash(s string) (InfoHash, error) {
	var h InfoHash
	if len(s) != 40 {
		return h, fmt.Errorf("peer: info-hash %q: want 40 hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(strings.ToLower(s))); err != nil {
		return h, fmt.Errorf("peer: info-hash %q: %w", s, err)
	}
	return h, nil
}

func (h InfoHash) mi() metainfo.Hash { return metainfo.Hash(h) }

func fromMI(h metainfo.Hash) InfoHash { return InfoHash(h) }
