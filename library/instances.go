package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/fourmi-app/fourmi/federation/peertube"
)

// builtinInstances are well-known public PeerTube instances offered on first
// run. They are stored unchecked (Name = host) and only contacted when the
// user browses them.
var builtinInstances = []string{
	"framatube.org",
	"video.blender.org",
	"tilvids.com",
	"peertube.tv",
	"diode.zone",
}

// seedInstances adds Options.DefaultInstances (or the built-in list) once,
// on the first Open of a data directory. Nothing is contacted.
func (l *Library) seedInstances(ctx context.Context) error {
	list := l.opt.DefaultInstances
	if list == nil {
		list = builtinInstances
	}
	return l.inTx(ctx, func(tx *sql.Tx) error {
		var seeded string
		err := tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", settingInstancesSeeded).Scan(&seeded)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := ms(l.now())
		for _, s := range list {
			u, err := peertube.ParseBase(s)
			if err != nil {
				l.log.Warn("skipping a bad default instance", "instance", s, "err", err)
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO instances (host, base_url, name, added_at)
				VALUES (?, ?, ?, ?) ON CONFLICT (host) DO NOTHING`, u.Host, u.String(), u.Host, now); err != nil {
				return err
			}
		}
		return setSetting(ctx, tx, settingInstancesSeeded, "1")
	})
}

// Instances lists the instances the user browses, by name.
func (l *Library) Instances(ctx context.Context) ([]Instance, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT host, base_url, name, description, version, added_at, checked_at
		FROM instances ORDER BY name COLLATE NOCASE, host`)
	if err != nil {
		return nil, fmt.Errorf("library: listing instances: %w", err)
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		in, err := scanInstance(rows)
		if err != nil {
			return nil, fmt.Errorf("library: listing instances: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("library: listing instances: %w", err)
	}
	return out, nil
}

func scanInstance(r interface{ Scan(...any) error }) (Instance, error) {
	var in Instance
	var added, checked int64
	if err := r.Scan(&in.Host, &in.BaseURL, &in.Name, &in.Description, &in.Version, &added, &checked); err != nil {
		return Instance{}, err
	}
	in.AddedAt, in.CheckedAt = fromMS(added), fromMS(checked)
	return in, nil
}

// instance returns the stored instance for host, ErrNotFound if unknown.
func (l *Library) instance(ctx context.Context, host string) (Instance, error) {
	row := l.db.QueryRowContext(ctx, `SELECT host, base_url, name, description, version, added_at, checked_at
		FROM instances WHERE host = ?`, host)
	in, err := scanInstance(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Instance{}, fmt.Errorf("instance %s: %w", host, ErrNotFound)
	}
	return in, err
}

// AddInstance validates hostOrURL with GET /api/v1/config and stores it.
// The error says clearly when the server is not PeerTube or unreachable;
// errors.Is(err, peertube.ErrNotPeerTube) holds for the former. Adding an
// instance already listed refreshes its name, description and version.
func (l *Library) AddInstance(ctx context.Context, hostOrURL string) (Instance, error) {
	u, err := peertube.ParseBase(hostOrURL)
	if err != nil {
		return Instance{}, fmt.Errorf("cannot add this instance: %w", err)
	}
	c, err := l.client(u.String())
	if err != nil {
		return Instance{}, fmt.Errorf("cannot add %s: %w", u.Host, err)
	}
	cfg, err := c.Config(ctx)
	if err != nil {
		var he *peertube.HTTPError
		if errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Status == http.StatusMethodNotAllowed || he.Status == http.StatusGone) {
			// No PeerTube API at all: same answer as an HTML page.
			return Instance{}, fmt.Errorf("cannot add %s: %w (%v)", u.Host, peertube.ErrNotPeerTube, err)
		}
		return Instance{}, fmt.Errorf("cannot add %s: %w", u.Host, err)
	}
	name := cfg.Instance.Name
	if name == "" {
		name = u.Host
	}
	now := ms(l.now())
	var in Instance
	err = l.inTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `INSERT INTO instances (host, base_url, name, description, version, added_at, checked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (host) DO UPDATE SET base_url = excluded.base_url, name = excluded.name,
				description = excluded.description, version = excluded.version, checked_at = excluded.checked_at
			RETURNING host, base_url, name, description, version, added_at, checked_at`,
			u.Host, u.String(), name, cfg.Instance.ShortDescription, cfg.ServerVersion, now, now)
		var err error
		in, err = scanInstance(row)
		return err
	})
	if err != nil {
		return Instance{}, fmt.Errorf("library: storing instance %s: %w", u.Host, err)
	}
	l.log.Info("instance added", "host", in.Host, "name", in.Name, "version", in.Version)
	return in, nil
}

// RemoveInstance forgets an instance (its cached pages go; videos stay searchable).
// It returns ErrNotFound when the instance was not listed.
func (l *Library) RemoveInstance(ctx context.Context, host string) error {
	h := peertube.HostOf(host)
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM instances WHERE host = ?", h)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("instance %s: %w", h, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM catalog_pages WHERE source = ?",
			Source{Kind: SourceInstance, Host: h}.Key())
		return err
	})
	if err != nil {
		return fmt.Errorf("library: removing instance: %w", err)
	}
	return nil
}

// Names of the non-instance sources in the picker.
const (
	GlobalSourceName = "Global search"
	LocalSourceName  = "On this computer"
)

// Sources lists the source picker's entries: the instances, global search,
// and the local cache.
func (l *Library) Sources(ctx context.Context) ([]Source, error) {
	ins, err := l.Instances(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Source, 0, len(ins)+2)
	for _, in := range ins {
		out = append(out, Source{Kind: SourceInstance, Host: in.Host, Name: in.Name})
	}
	idx, err := l.SearchIndexURL(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out,
		Source{Kind: SourceGlobal, Host: peertube.HostOf(idx), Name: GlobalSourceName},
		Source{Kind: SourceLocal, Name: LocalSourceName})
	return out, nil
}

// client returns a PeerTube client for base using the library's HTTP client.
func (l *Library) client(base string) (*peertube.Client, error) {
	return peertube.New(base, peertube.Options{HTTPClient: l.hc})
}
