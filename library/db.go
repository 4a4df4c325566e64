package library

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers "sqlite3"
)

// ErrNewerDatabase means the database was written by a newer Fourmi: this
// version does not know its schema and refuses to touch it.
var ErrNewerDatabase = errors.New("the library database was written by a newer version of Fourmi; please update Fourmi")

// applicationID marks a SQLite file as Fourmi's ("FRMI").
const applicationID = 0x46524d49

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations, named NNNN_what.sql and
// numbered 1, 2, 3… without gaps.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with its number", base)
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest schema this code knows.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// openDB opens (creating if needed) the SQLite database at file with
// foreign keys on, immediate write transactions, a busy timeout and WAL.
func openDB(file string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_fk", "true")
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", "5000")
	q.Set("_journal", "WAL")
	q.Set("_sync", "NORMAL")
	dsn := "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	// WAL lets readers run beside the one writer; writers are serialized
	// in-process by Library.writeMu anyway.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// migrate brings the database to the newest schema, one transaction per
// migration, each checked with PRAGMA foreign_key_check. It refuses a
// database of another application or of a newer Fourmi.
func migrate(ctx context.Context, db *sql.DB) (from, to int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, 0, err
	}
	var appID, version int
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, 0, fmt.Errorf("reading the database: %w", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, 0, fmt.Errorf("reading the database: %w", err)
	}
	if appID != applicationID && (appID != 0 || version != 0) {
		return 0, 0, fmt.Errorf("this file is not a Fourmi library database (application_id %#x)", appID)
	}
	if version > len(ms) {
		return version, version, fmt.Errorf("%w (database schema %d, this Fourmi knows up to %d)", ErrNewerDatabase, version, len(ms))
	}
	from = version
	for _, m := range ms[version:] {
		if err := applyMigration(ctx, db, m); err != nil {
			return from, version, err
		}
		version = m.version
	}
	return from, version, nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("migration %s: foreign key check: %w", m.name, err)
	}
	bad := 0
	var first string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			rows.Close()
			return fmt.Errorf("migration %s: foreign key check: %w", m.name, err)
		}
		if bad == 0 {
			first = fmt.Sprintf("%s row %d → %s", table, rowid.Int64, parent)
		}
		bad++
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("migration %s: foreign key check: %w", m.name, err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migration %s: foreign key check: %w", m.name, err)
	}
	if bad > 0 {
		return fmt.Errorf("migration %s: %d broken references (first: %s)", m.name, bad, first)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	return nil
}

// ms converts a time to the database's Unix milliseconds (0 for zero).
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts the database's Unix milliseconds back (zero for 0).
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
