package library

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// PeerTube 6.3's limits on a video's fields (CONSTRAINTS_FIELDS.VIDEOS).
const (
	titleMin, titleMax             = 3, 120
	descriptionMin, descriptionMax = 3, 10000
	tagsMax                        = 5
	tagMin, tagMax                 = 2, 30
	supportMin, supportMax         = 3, 1000
	channelNameMax                 = 50
)

// channelNameRe is PeerTube's rule for a local actor name.
var channelNameRe = regexp.MustCompile(`^[a-z0-9_.]+$`)

// categories, licences and languages are PeerTube 6.3's vocabularies
// (VIDEO_CATEGORIES, VIDEO_LICENCES, and a common subset of VIDEO_LANGUAGES,
// which come from ISO 639).
var categories = map[int]string{
	1: "Music", 2: "Films", 3: "Vehicles", 4: "Art", 5: "Sports", 6: "Travels", 7: "Gaming", 8: "People",
	9: "Comedy", 10: "Entertainment", 11: "News & Politics", 12: "How To", 13: "Education", 14: "Activism",
	15: "Science & Technology", 16: "Animals", 17: "Kids", 18: "Food",
}

var licences = map[int]string{
	1: "Attribution", 2: "Attribution - Share Alike", 3: "Attribution - No Derivatives",
	4: "Attribution - Non Commercial", 5: "Attribution - Non Commercial - Share Alike",
	6: "Attribution - Non Commercial - No Derivatives", 7: "Public Domain Dedication",
}

var languages = map[string]string{
	"ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "br": "Breton", "ca": "Catalan", "cs": "Czech",
	"cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek", "en": "English", "eo": "Esperanto",
	"es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
	"ga": "Irish", "gd": "Gaelic", "gl": "Galician", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
	"hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "is": "Icelandic", "it": "Italian",
	"ja": "Japanese", "ka": "Georgian", "kab": "Kabyle", "kk": "Kazakh", "ko": "Korean", "la": "Latin",
	"lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam", "ms": "Malay",
	"nb": "Norwegian Bokmål", "nl": "Dutch", "nn": "Norwegian Nynorsk", "no": "Norwegian", "oc": "Occitan",
	"pa": "Panjabi", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
	"sl": "Slovenian", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil",
	"te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
	"vi": "Vietnamese", "wo": "Wolof", "zh": "Chinese", "zh-Hans": "Chinese Simplified",
	"zh-Hant": "Chinese Traditional", "sgn": "Sign Languages", "ase": "American Sign Language",
	"fsl": "French Sign Language", "gsg": "German Sign Language", "bfi": "British Sign Language",
	"jbo": "Lojban", "tok": "Toki Pona",
}

// ValidateMetadata checks meta against PeerTube 6.3's rules (title 3–120,
// description ≤ 10,000, ≤ 5 tags of 2–30, known category/licence/language,
// privacy 1–3, support ≤ 1,000, channel name) and returns a
// ValidationError listing every failing field, or nil. Lengths count
// characters (code points), as PeerTube's validator does.
func ValidateMetadata(meta Metadata) error {
	var errs ValidationError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	n := utf8.RuneCountInString
	if t := strings.TrimSpace(meta.Title); n(t) < titleMin || n(meta.Title) > titleMax {
		add("title", "Title must be between %d and %d characters", titleMin, titleMax)
	}
	if d := meta.Description; d != "" && (n(strings.TrimSpace(d)) < descriptionMin || n(d) > descriptionMax) {
		add("description", "Description must be between %d and %d characters", descriptionMin, descriptionMax)
	}
	if len(meta.Tags) > tagsMax {
		add("tags", "A video has at most %d tags", tagsMax)
	} else {
		seen := map[string]bool{}
		for _, tag := range meta.Tags {
			if c := n(strings.TrimSpace(tag)); c < tagMin || n(tag) > tagMax {
				add("tags", "Each tag must be between %d and %d characters (%q)", tagMin, tagMax, tag)
				break
			}
			k := strings.ToLower(strings.TrimSpace(tag))
			if seen[k] {
				add("tags", "Tag %q is given twice", tag)
				break
			}
			seen[k] = true
		}
	}
	if _, ok := categories[meta.Category]; meta.Category != 0 && !ok {
		add("category", "Unknown category (%d)", meta.Category)
	}
	if _, ok := licences[meta.Licence]; meta.Licence != 0 && !ok {
		add("licence", "Unknown licence (%d)", meta.Licence)
	}
	if _, ok := languages[meta.Language]; meta.Language != "" && !ok {
		add("language", "Unknown language (%q)", meta.Language)
	}
	if p := meta.Privacy; p != 0 && p != PrivacyPublic && p != PrivacyUnlisted && p != PrivacyPrivate {
		add("privacy", "Privacy must be public, unlisted or private")
	}
	if s := meta.Support; s != "" && (n(strings.TrimSpace(s)) < supportMin || n(s) > supportMax) {
		add("support", "Support text must be between %d and %d characters", supportMin, supportMax)
	}
	if c := meta.Channel; c != "" && (len(c) > channelNameMax || !channelNameRe.MatchString(c)) {
		add("channel", "Channel name must be 1 to %d lowercase letters, digits, '_' or '.'", channelNameMax)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// normalizeMeta trims what the creator typed and fills the defaults.
func normalizeMeta(meta Metadata, defaultChannel string) Metadata {
	meta.Title = strings.TrimSpace(meta.Title)
	meta.Description = strings.TrimSpace(meta.Description)
	meta.Support = strings.TrimSpace(meta.Support)
	tags := make([]string, 0, len(meta.Tags))
	for _, t := range meta.Tags {
		tags = append(tags, strings.TrimSpace(t))
	}
	meta.Tags = tags
	if meta.Privacy == 0 {
		meta.Privacy = PrivacyPublic
	}
	if meta.Channel == "" {
		meta.Channel = defaultChannel
	}
	return meta
}

func intChoices(m map[int]string) []Choice {
	out := make([]Choice, 0, len(m))
	for id, label := range m {
		out = append(out, Choice{ID: id, Label: label})
	}
	slices.SortFunc(out, func(a, b Choice) int { return strings.Compare(a.Label, b.Label) })
	return out
}

// Categories, Licences and Languages are PeerTube 6.3's vocabularies with
// English labels, sorted for a picker.
func Categories() []Choice { return intChoices(categories) }

// Licences: see Categories. Sorted by id, PeerTube's order (from the most
// permissive attribution licence to the public domain).
func Licences() []Choice {
	out := intChoices(licences)
	slices.SortFunc(out, func(a, b Choice) int { return a.ID - b.ID })
	return out
}

// Languages: see Categories (Code set, ID 0).
func Languages() []Choice {
	out := make([]Choice, 0, len(languages))
	for code, label := range languages {
		out = append(out, Choice{Code: code, Label: label})
	}
	slices.SortFunc(out, func(a, b Choice) int { return strings.Compare(a.Label, b.Label) })
	return out
}
