// Package assets holds Fourmi's embedded resources: the application icon and
// the freedesktop entry used when installing on Linux.
package assets

import _ "embed"

// Icon is the 256×256 PNG application icon.
//
//go:embed icon.png
var Icon []byte

// DesktopEntry is the freedesktop .desktop file.
//
//go:embed fourmi.desktop
var DesktopEntry []byte
