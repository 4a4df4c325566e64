package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fourmi-app/fourmi/federation/peertube"
)

// Setting keys the library itself reads.
const (
	// SettingSearchIndexURL is the global search index (Sepia Search
	// compatible); unset means Options.SearchIndexURL.
	SettingSearchIndexURL = "search_index_url"
	// SettingTheme is the GUI theme: ThemeSystem, ThemeLight or ThemeDark.
	SettingTheme = "theme"

	settingInstancesSeeded = "instances_seeded"
)

// Themes the GUI offers.
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// Setting reads a setting; ok is false when it was never set.
func (l *Library) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = l.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("library: reading setting %q: %w", key, err)
	}
	return value, true, nil
}

// SetSetting stores a setting.
func (l *Library) SetSetting(ctx context.Context, key, value string) error {
	if key == "" {
		return errors.New("library: a setting needs a key")
	}
	err := l.inTx(ctx, func(tx *sql.Tx) error {
		return setSetting(ctx, tx, key, value)
	})
	if err != nil {
		return fmt.Errorf("library: storing setting %q: %w", key, err)
	}
	return nil
}

func setSetting(ctx context.Context, tx *sql.Tx, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Theme is the GUI theme setting, ThemeSystem when unset or unknown.
func (l *Library) Theme(ctx context.Context) (string, error) {
	v, _, err := l.Setting(ctx, SettingTheme)
	if err != nil {
		return ThemeSystem, err
	}
	switch v {
	case ThemeLight, ThemeDark:
		return v, nil
	}
	return ThemeSystem, nil
}

// SetTheme stores the GUI theme (ThemeSystem, ThemeLight or ThemeDark).
func (l *Library) SetTheme(ctx context.Context, theme string) error {
	switch theme {
	case ThemeSystem, ThemeLight, ThemeDark:
		return l.SetSetting(ctx, SettingTheme, theme)
	}
	return fmt.Errorf("library: unknown theme %q (want %s, %s or %s)", theme, ThemeSystem, ThemeLight, ThemeDark)
}

// SearchIndexURL is the base URL of the global search index in use.
func (l *Library) SearchIndexURL(ctx context.Context) (string, error) {
	v, ok, err := l.Setting(ctx, SettingSearchIndexURL)
	if err != nil {
		return "", err
	}
	if ok && v != "" {
		if u, err := peertube.ParseBase(v); err == nil {
			return u.String(), nil
		}
		l.log.Warn("ignoring a bad search index setting", "value", v)
	}
	u, err := peertube.ParseBase(l.opt.SearchIndexURL)
	if err != nil {
		return "", fmt.Errorf("library: search index %q: %w", l.opt.SearchIndexURL, err)
	}
	return u.String(), nil
}

// SetSearchIndexURL sets the global search index ("" goes back to the
// default). It is not contacted here.
func (l *Library) SetSearchIndexURL(ctx context.Context, raw string) error {
	if raw == "" {
		return l.SetSetting(ctx, SettingSearchIndexURL, "")
	}
	u, err := peertube.ParseBase(raw)
	if err != nil {
		return fmt.Errorf("library: search index: %w", err)
	}
	return l.SetSetting(ctx, SettingSearchIndexURL, u.String())
}
