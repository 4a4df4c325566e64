package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/fourmi-app/fourmi/library"
)

// Theme modes, as stored in the library's theme setting.
const (
	themeSystem = library.ThemeSystem
	themeLight  = library.ThemeLight
	themeDark   = library.ThemeDark
)

// Colour names of our own, looked up through the theme like Fyne's.
const (
	colorNameSidebar fyne.ThemeColorName = "fourmiSidebar"
	colorNameMuted   fyne.ThemeColorName = "fourmiMuted"
	colorNameThumbBg fyne.ThemeColorName = "fourmiThumbBackground"
	colorNameBanner  fyne.ThemeColorName = "fourmiBanner"
)

// Fourmi's accent: a warm ant-red orange, darker on light backgrounds so
// white text on it stays readable, lighter on dark ones.
var (
	accentLight = color.NRGBA{R: 0xC8, G: 0x45, B: 0x10, A: 0xFF}
	accentDark  = color.NRGBA{R: 0xFF, G: 0x8A, B: 0x4C, A: 0xFF}
)

// fourmiTheme is Fyne's default theme with Fourmi's accent and a forced
// variant (light or dark) unless it follows the system. Values are
// immutable: switching theme installs a new one.
type fourmiTheme struct {
	fyne.Theme
	mode string
}

func newTheme(mode string) *fourmiTheme {
	switch mode {
	case themeLight, themeDark:
	default:
		mode = themeSystem
	}
	return &fourmiTheme{Theme: theme.DefaultTheme(), mode: mode}
}

// variant resolves the variant the app asks for against the forced mode.
func (t *fourmiTheme) variant(v fyne.ThemeVariant) fyne.ThemeVariant {
	switch t.mode {
	case themeLight:
		return theme.VariantLight
	case themeDark:
		return theme.VariantDark
	}
	if v != theme.VariantLight {
		return theme.VariantDark
	}
	return v
}

func withAlpha(c color.NRGBA, a uint8) color.NRGBA { c.A = a; return c }

func (t *fourmiTheme) Color(name fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	v = t.variant(v)
	light := v == theme.VariantLight
	accent := accentDark
	if light {
		accent = accentLight
	}
	switch name {
	case theme.ColorNamePrimary, theme.ColorNameHyperlink:
		return accent
	case theme.ColorNameFocus:
		return withAlpha(accent, 0x7F)
	case theme.ColorNameSelection:
		return withAlpha(accent, 0x38)
	case theme.ColorNameForegroundOnPrimary:
		if light {
			return color.White
		}
		return color.NRGBA{R: 0x1A, G: 0x10, B: 0x0A, A: 0xFF}
	case colorNameSidebar:
		if light {
			return color.NRGBA{R: 0xF3, G: 0xF0, B: 0xEC, A: 0xFF}
		}
		return color.NRGBA{R: 0x1E, G: 0x1C, B: 0x1B, A: 0xFF}
	case colorNameMuted:
		if light {
			return color.NRGBA{R: 0x6B, G: 0x66, B: 0x62, A: 0xFF}
		}
		return color.NRGBA{R: 0xA8, G: 0xA2, B: 0x9E, A: 0xFF}
	case colorNameThumbBg:
		if light {
			return color.NRGBA{R: 0xE4, G: 0xE0, B: 0xDB, A: 0xFF}
		}
		return color.NRGBA{R: 0x2E, G: 0x2B, B: 0x29, A: 0xFF}
	case colorNameBanner:
		if light {
			return color.NRGBA{R: 0xFD, G: 0xE8, B: 0xE6, A: 0xFF}
		}
		return color.NRGBA{R: 0x4A, G: 0x1F, B: 0x1C, A: 0xFF}
	}
	return t.Theme.Color(name, v)
}
