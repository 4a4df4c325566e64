package peer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// The completion database: answers from memory, records verified pieces
// only at flush (after syncing the data), in anacrolix's own format, and
// forgets a torrent whose data was deleted.
func TestPieceCompletion(t *testing.T) {
	dir := t.TempDir()
	ih := metainfo.Hash{1}
	if err := os.MkdirAll(filepath.Join(dir, ih.HexString()), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ih.HexString(), "f"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := openPieceCompletion(dir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) metainfo.PieceKey { return metainfo.PieceKey{InfoHash: ih, Index: i} }
	if got, err := c.Get(key(0)); err != nil || got.Ok {
		t.Fatalf("unknown piece: %+v, %v; want not Ok", got, err)
	}
	for _, i := range []int{0, 1, 3} {
		if err := c.Set(key(i), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Set(key(2), false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for cmpl := range storage.GetPieceCompletionRange(c, ih, 0, 5) {
		got = append(got, map[bool]string{true: "c", false: "i"}[cmpl.Complete]+map[bool]string{true: "", false: "?"}[cmpl.Ok])
	}
	if want := []string{"c", "c", "i", "c", "i?"}; !slices.Equal(got, want) {
		t.Errorf("GetRange = %q, want %q", got, want)
	}
	// Not flushed yet: the database does not claim them.
	if cmpl, _ := c.dbGet(key(0)); cmpl.Ok {
		t.Error("piece recorded before flush")
	}
	if err := c.Close(); err != nil { // flushes
		t.Fatal(err)
	}

	// anacrolix reads the same database.
	db, err := storage.NewBoltPieceCompletion(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false, true} {
		if cmpl, err := db.Get(key(i)); err != nil || !cmpl.Ok || cmpl.Complete != want {
			t.Errorf("anacrolix reads piece %d as %+v, %v; want complete=%v", i, cmpl, err, want)
		}
	}
	db.Close()

	c, err = openPieceCompletion(dir, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if cmpl, _ := c.Get(key(3)); !cmpl.Ok || !cmpl.Complete {
		t.Errorf("after reopening, piece 3 is %+v", cmpl)
	}
	if err := c.clear(InfoHash(ih)); err != nil {
		t.Fatal(err)
	}
	if cmpl, _ := c.Get(key(3)); cmpl.Ok {
		t.Errorf("after clear, piece 3 is %+v; want unknown", cmpl)
	}
}
