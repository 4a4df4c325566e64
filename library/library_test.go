package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenCreatesAndMigrates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(ctx, testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	var version, appID int
	var journal string
	if err := l.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	l.db.QueryRow("PRAGMA application_id").Scan(&appID)
	l.db.QueryRow("PRAGMA journal_mode").Scan(&journal)
	if version != SchemaVersion() || version < 1 {
		t.Errorf("user_version = %d, want %d", version, SchemaVersion())
	}
	if appID != applicationID {
		t.Errorf("application_id = %#x, want %#x", appID, applicationID)
	}
	if journal != "wal" {
		t.Errorf("journal_mode = %q, want wal", journal)
	}
	var fk int
	l.db.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if fk != 1 {
		t.Errorf("foreign_keys = %d, want 1", fk)
	}
	// Every ordinary table is STRICT.
	rows, err := l.db.Query(`SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'videos_fts%'`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var name string
		var strict int
		rows.Scan(&name, &strict)
		n++
		if strict != 1 {
			t.Errorf("table %s is not STRICT", name)
		}
	}
	rows.Close()
	if n < 8 {
		t.Errorf("only %d tables", n)
	}
	if err := l.SetSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Re-open: nothing to migrate, data kept.
	l2, err := Open(ctx, testOptions(dir))
	if err != nil {
		t.Fatalf("re-open: %v", err)
	}
	defer l2.Close()
	v, ok, err := l2.Setting(ctx, "k")
	if err != nil || !ok || v != "v" {
		t.Errorf("setting after re-open = %q %v %v", v, ok, err)
	}
}

func TestMigrationsAreContiguous(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %s has number %d at position %d", m.name, m.version, i)
		}
	}
}

func TestOpenRefusesNewerDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openTest(t, testOptions(dir))
	if _, err := l.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, err := Open(ctx, testOptions(dir))
	if !errors.Is(err, ErrNewerDatabase) {
		t.Fatalf("Open of a newer database: %v, want ErrNewerDatabase", err)
	}
	// The refusal released the lock and left the file alone.
	db, err := sql.Open("sqlite3", filepath.Join(dir, "fourmi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != SchemaVersion()+1 {
		t.Errorf("user_version changed to %d", v)
	}
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "fourmi.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE precious (x TEXT); INSERT INTO precious VALUES ('keep'); PRAGMA application_id = 42; PRAGMA user_version = 3"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(context.Background(), testOptions(dir))
	if err == nil || !strings.Contains(err.Error(), "not a Fourmi library database") {
		t.Fatalf("Open of another app's database: %v", err)
	}
}

func TestFTS5IsCompiledIn(t *testing.T) {
	l := openTest(t, Options{})
	var n int
	if err := l.db.QueryRow("SELECT count(*) FROM pragma_compile_options WHERE compile_options = 'ENABLE_FTS5'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatal("SQLite was built without FTS5: build with -tags sqlite_fts5")
	}
	if _, err := l.db.Exec("CREATE VIRTUAL TABLE temp.probe USING fts5(x)"); err != nil {
		t.Fatalf("fts5 table: %v", err)
	}
}

func TestLockInProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(ctx, testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, testOptions(dir))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the directory", err)
	}
	l.Close()
	l2, err := Open(ctx, testOptions(dir))
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()
}

// TestHelperProcess is run by TestLockOtherProcess in a child process.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv("FOURMI_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("only run as a helper process")
	}
	l, err := Open(context.Background(), testOptions(dir))
	switch {
	case errors.Is(err, ErrLocked):
		fmt.Println("RESULT locked")
	case err != nil:
		fmt.Println("RESULT error", err)
	default:
		l.Close()
		fmt.Println("RESULT opened")
	}
}

func TestLockOtherProcess(t *testing.T) {
	dir := t.TempDir()
	child := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "FOURMI_LOCK_HELPER_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper process: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if r, ok := strings.CutPrefix(line, "RESULT "); ok {
				return r
			}
		}
		t.Fatalf("helper process said nothing:\n%s", out)
		return ""
	}
	l, err := Open(context.Background(), testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := child(); got != "locked" {
		t.Errorf("second process while locked: %q, want locked", got)
	}
	l.Close()
	if got := child(); got != "opened" {
		t.Errorf("second process after Close: %q, want opened", got)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	l := openTest(t, Options{})
	if _, ok, err := l.Setting(ctx, "nope"); ok || err != nil {
		t.Errorf("unset setting: ok=%v err=%v", ok, err)
	}
	for _, v := range []string{"one", "two", ""} {
		if err := l.SetSetting(ctx, "x", v); err != nil {
			t.Fatal(err)
		}
		got, ok, err := l.Setting(ctx, "x")
		if err != nil || !ok || got != v {
			t.Errorf("Setting after set %q: %q %v %v", v, got, ok, err)
		}
	}
	if err := l.SetSetting(ctx, "", "v"); err == nil {
		t.Error("empty key accepted")
	}
	if th, _ := l.Theme(ctx); th != ThemeSystem {
		t.Errorf("default theme %q", th)
	}
	if err := l.SetTheme(ctx, ThemeDark); err != nil {
		t.Fatal(err)
	}
	if th, _ := l.Theme(ctx); th != ThemeDark {
		t.Errorf("theme %q after SetTheme(dark)", th)
	}
	if err := l.SetTheme(ctx, "purple"); err == nil {
		t.Error("unknown theme accepted")
	}
	if u, _ := l.SearchIndexURL(ctx); u != "http://127.0.0.1:9" {
		t.Errorf("default search index %q", u)
	}
	if err := l.SetSearchIndexURL(ctx, "search.example.org/"); err != nil {
		t.Fatal(err)
	}
	if u, _ := l.SearchIndexURL(ctx); u != "https://search.example.org" {
		t.Errorf("search index %q after set", u)
	}
	if err := l.SetSearchIndexURL(ctx, "ftp://x"); err == nil {
		t.Error("ftp search index accepted")
	}
}

// failTransport fails the test on any request.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request to %s", r.URL)
	return nil, errors.New("no network in this test")
}

func TestDefaultInstancesOnFirstOpenOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opt := testOptions(dir)
	opt.DefaultInstances = nil // the built-in list
	opt.HTTPClient = &http.Client{Transport: failTransport{t}}
	l, err := Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := l.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]Instance{}
	for _, in := range ins {
		hosts[in.Host] = in
	}
	for _, h := range []string{"framatube.org", "video.blender.org", "tilvids.com", "peertube.tv", "diode.zone"} {
		in, ok := hosts[h]
		if !ok {
			t.Errorf("default instance %s missing", h)
			continue
		}
		if in.Name != h || in.BaseURL != "https://"+h || !in.CheckedAt.IsZero() || in.AddedAt.IsZero() {
			t.Errorf("default instance %+v: want unchecked, named by host", in)
		}
	}
	// Removing one sticks: defaults are not re-added on the next Open.
	if err := l.RemoveInstance(ctx, "tilvids.com"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err = Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ins, _ = l.Instances(ctx)
	for _, in := range ins {
		if in.Host == "tilvids.com" {
			t.Error("removed default instance came back")
		}
	}
	if len(ins) != 4 {
		t.Errorf("%d instances, want 4", len(ins))
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	db, err := openDB(filepath.Join(t.TempDir(), "fourmi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	next := SchemaVersion() + 1
	cases := map[string]string{
		"broken reference": `PRAGMA defer_foreign_keys = ON;
			CREATE TABLE probe (video_id INTEGER REFERENCES videos (id)) STRICT;
			INSERT INTO probe VALUES (12345);`,
		"SQL error": `CREATE TABLE probe (x TEXT) STRICT; INSERT INTO nowhere VALUES (1);`,
	}
	for name, q := range cases {
		err := applyMigration(ctx, db, migration{version: next, name: "9999_probe.sql", sql: q})
		if err == nil {
			t.Errorf("%s: migration succeeded", name)
		} else if name == "broken reference" && !strings.Contains(err.Error(), "1 broken references (first: probe row 1 → videos)") {
			t.Errorf("foreign_key_check did not report: %v", err)
		}
		var v, n int
		db.QueryRow("PRAGMA user_version").Scan(&v)
		db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE name = 'probe'").Scan(&n)
		if v != SchemaVersion() || n != 0 {
			t.Errorf("%s: not rolled back (user_version %d, probe table %d)", name, v, n)
		}
	}
	if err := applyMigration(ctx, db, migration{version: next, name: "9999_ok.sql", sql: "CREATE TABLE probe (x TEXT) STRICT;"}); err != nil {
		t.Fatal(err)
	}
	var v int
	db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != next {
		t.Errorf("user_version %d after a good migration, want %d", v, next)
	}
}
