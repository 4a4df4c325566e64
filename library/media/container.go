package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// layout is what the top-level structure of a file says, read without
// ffprobe: enough to spot a truncated MP4 or Matroska file and to know
// whether an MP4 can start playing before it is fully downloaded.
type layout struct {
	kind       string // "mp4", "matroska" or "" (not recognised: no checks)
	brand      string // MP4 major brand ("isom", "qt  ", ...)
	fastStart  bool   // MP4: moov before the first mdat
	fragmented bool   // MP4: has moof boxes
	hasMoov    bool
	truncated  string // why the file looks cut short; "" if it does not
}

// mp4TopLevel are box types that may start an ISO-BMFF / QuickTime file.
var mp4TopLevel = map[string]bool{
	"ftyp": true, "moov": true, "mdat": true, "free": true, "skip": true,
	"wide": true, "pnot": true, "styp": true, "sidx": true, "uuid": true,
}

// knownBox are the top-level boxes whose sizes are trusted when deciding
// that a file is truncated.
var knownBox = map[string]bool{
	"ftyp": true, "moov": true, "mdat": true, "free": true, "skip": true, "wide": true,
	"pnot": true, "styp": true, "sidx": true, "uuid": true, "moof": true, "mfra": true,
	"meta": true, "pdin": true, "emsg": true, "prft": true, "ssix": true,
}

// readLayout inspects f's top-level boxes or EBML elements.
func readLayout(f *os.File, size int64) (layout, error) {
	var head [12]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return layout{}, err
	}
	switch {
	case n >= 8 && mp4TopLevel[string(head[4:8])]:
		return readMP4Layout(f, size)
	case n >= 4 && binary.BigEndian.Uint32(head[:4]) == 0x1A45DFA3:
		return readMatroskaLayout(f, size)
	}
	return layout{}, nil
}

const maxBoxes = 1 << 20 // a sanity bound: a 10-hour fragmented MP4 has ~40k

func readMP4Layout(f *os.File, size int64) (layout, error) {
	l := layout{kind: "mp4"}
	var off int64
	seenMdat := false
	for i := 0; off < size; i++ {
		if i == maxBoxes {
			break
		}
		var h [16]byte
		n, err := f.ReadAt(h[:], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return l, err
		}
		if n < 8 {
			break // a few trailing bytes: players ignore them
		}
		boxSize := int64(binary.BigEndian.Uint32(h[:4]))
		typ := string(h[4:8])
		hdr := int64(8)
		switch boxSize {
		case 0: // extends to the end of the file
			boxSize = size - off
		case 1:
			if n < 16 {
				l.truncated = fmt.Sprintf("box %q header cut at offset %d", typ, off)
				return l, nil
			}
			boxSize = int64(binary.BigEndian.Uint64(h[8:16]))
			hdr = 16
		}
		if boxSize < hdr || !knownBox[typ] {
			break // trailing garbage or a structure we do not know: let ffprobe judge
		}
		if off+boxSize > size {
			l.truncated = fmt.Sprintf("box %q at offset %d needs %d bytes, only %d are present",
				typ, off, boxSize, size-off)
		}
		switch typ {
		case "ftyp":
			if boxSize >= hdr+4 {
				var b [4]byte
				if _, err := f.ReadAt(b[:], off+hdr); err == nil {
					l.brand = string(b[:])
				}
			}
		case "moov":
			l.hasMoov = true
			if !seenMdat {
				l.fastStart = true
			}
		case "mdat":
			seenMdat = true
		case "moof":
			l.fragmented = true
		}
		if l.truncated != "" {
			break
		}
		off += boxSize
	}
	if l.truncated == "" && !l.hasMoov && seenMdat {
		l.truncated = "no moov box: the recording or copy was never finished"
	}
	return l, nil
}

// readMatroskaLayout checks the Segment's declared size against the file.
func readMatroskaLayout(f *os.File, size int64) (layout, error) {
	l := layout{kind: "matroska"}
	r := io.NewSectionReader(f, 0, size)
	// EBML header element.
	if _, err := readEBMLID(r); err != nil {
		return l, nil
	}
	hsize, _, err := readEBMLSize(r)
	if err != nil {
		return l, nil
	}
	pos, _ := r.Seek(hsize, io.SeekCurrent)
	if pos > size {
		l.truncated = "EBML header cut short"
		return l, nil
	}
	id, err := readEBMLID(r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			l.truncated = "no Segment after the EBML header"
		}
		return l, nil
	}
	if id != 0x18538067 { // Segment
		return l, nil
	}
	ssize, unknown, err := readEBMLSize(r)
	if err != nil {
		l.truncated = "Segment header cut short"
		return l, nil
	}
	start, _ := r.Seek(0, io.SeekCurrent)
	if !unknown && start+ssize > size {
		l.truncated = fmt.Sprintf("Segment declares %d bytes, only %d are present", ssize, size-start)
	}
	return l, nil
}

// readEBMLID reads an element ID (1–4 bytes, marker bits kept).
func readEBMLID(r io.Reader) (uint32, error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	n := vintLen(b[0])
	if n == 0 || n > 4 {
		return 0, errors.New("bad EBML id")
	}
	id := uint32(b[0])
	for i := 1; i < n; i++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		id = id<<8 | uint32(b[0])
	}
	return id, nil
}

// readEBMLSize reads a data size vint; unknown reports the reserved
// all-ones value ("size unknown", used by live writers).
func readEBMLSize(r io.Reader) (size int64, unknown bool, err error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, false, err
	}
	n := vintLen(b[0])
	if n == 0 {
		return 0, false, errors.New("bad EBML size")
	}
	v := uint64(b[0]) & (0xFF >> n)
	allOnes := v == 0xFF>>n
	for i := 1; i < n; i++ {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, false, err
		}
		v = v<<8 | uint64(b[0])
		allOnes = allOnes && b[0] == 0xFF
	}
	if allOnes {
		return 0, true, nil
	}
	if v > 1<<62 {
		return 0, false, errors.New("EBML size out of range")
	}
	return int64(v), false, nil
}

func vintLen(first byte) int {
	for i := 0; i < 8; i++ {
		if first&(0x80>>i) != 0 {
			return i + 1
		}
	}
	return 0
}
