package federation

import (
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PeerTube validates remote JSON with JavaScript and validator.js, whose
// quirks decide what it accepts: numbers are checked as String(value) (so
// "25" and 25 are both integers, and leading zeros are fine), a non-string
// where validator.js wants a string throws (PeerTube then rejects the whole
// object), a URL host may be an IP address even when a TLD is required. The
// helpers below reproduce those semantics on values decoded by
// encoding/json into any (nil, bool, float64, string, []any, map[string]any).

// jsThrow is a JavaScript exception in the ported code: the check in
// progress fails.
type jsThrow struct{ reason string }

// jsString is JavaScript's String(value), what value + "" gives.
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return jsNumber(x)
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

// jsNumber formats a float64 as JavaScript's Number.prototype.toString does.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e21 || a < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[:1]
		exp = strings.TrimLeft(exp[1:], "0")
		return mant + "e" + sign + exp
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// truthy is JavaScript truthiness.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	}
	return true
}

// exists is PeerTube's exists(): neither undefined nor null.
func exists(v any) bool { return v != nil }

// prop reads a property of a JavaScript value: undefined (nil) unless v is
// an object. Reading a property of null or undefined throws.
func prop(v any, key string) any {
	if v == nil {
		panic(jsThrow{"cannot read property " + key + " of null"})
	}
	if m, ok := v.(map[string]any); ok {
		return m[key]
	}
	return nil
}

// assertString is validator.js's assertString: a non-string throws.
func assertString(v any) string {
	s, ok := v.(string)
	if !ok {
		panic(jsThrow{"expected a string but received " + jsType(v)})
	}
	return s
}

func jsType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a string"
}

// intPattern is validator.js isInt with its default allow_leading_zeroes.
var intPattern = regexp.MustCompile(`^[-+]?[0-9]+$`)

// isInt is validator.isInt(s, {min}) on a string; min is ignored when
// hasMin is false.
func isInt(s string, hasMin bool, min float64) bool {
	if !intPattern.MatchString(s) {
		return false
	}
	if !hasMin {
		return true
	}
	n, err := strconv.ParseFloat(s, 64)
	return err == nil && n >= min
}

// isIntValue is PeerTube's validator.isInt(String(value), {min}).
func isIntValue(v any, min float64) bool { return isInt(jsString(v), true, min) }

// jsLength is validator.js isLength's count: code points, not counting
// variation selectors.
func jsLength(s string) int {
	return utf8.RuneCountInString(s) - strings.Count(s, "\uFE0E") - strings.Count(s, "\uFE0F")
}

// isLength is validator.isLength(value, {min, max}); max < 0 means none. A
// non-string throws.
func isLength(v any, min, max int) bool {
	n := jsLength(assertString(v))
	return n >= min && (max < 0 || n <= max)
}

// truncate is PeerTube's peertubeTruncate (lodash truncate, omission
// "..."): at most max characters.
func truncate(s string, max int) string {
	if jsLength(s) <= max {
		return s
	}
	r := []rune(s)
	if max-3 < len(r) {
		r = r[:max-3]
	}
	return string(r) + "..."
}

// maxURLLength is CONSTRAINTS_FIELDS.ACTORS.URL.max.
const maxURLLength = 2000

// IsActivityPubURL is PeerTube's isActivityPubUrlValid: an http(s) URL of 3
// to 2000 characters whose host is an IP address or a domain name with a
// real TLD. allowLocalhost drops the TLD requirement, as a PeerTube whose
// own hostname is localhost or 127.0.0.1 does (its test setup).
func IsActivityPubURL(u string, allowLocalhost bool) bool {
	n := jsLength(u)
	return n >= 3 && n <= maxURLLength && isURL(u, !allowLocalhost)
}

// apURL is isActivityPubUrlValid on a JavaScript value.
func apURL(v any, allowLocalhost bool) bool {
	return exists(v) && IsActivityPubURL(jsString(v), allowLocalhost)
}

// isURL ports validator.isURL with PeerTube's options (require_protocol,
// require_host, protocols http and https, require_tld unless localhost).
func isURL(s string, requireTLD bool) bool {
	if s == "" || strings.ContainsFunc(s, jsSpaceOrAngle) || strings.HasPrefix(s, "mailto:") {
		return false
	}
	s, _, _ = strings.Cut(s, "#")
	s, _, _ = strings.Cut(s, "?")
	parts := strings.Split(s, "://")
	if len(parts) < 2 {
		return false
	}
	if p := strings.ToLower(parts[0]); p != "http" && p != "https" {
		return false
	}
	rest := strings.Join(parts[1:], "://")
	if rest == "" {
		return false
	}
	authority, _, _ := strings.Cut(rest, "/")
	hostname := authority
	if at := strings.Split(authority, "@"); len(at) > 1 {
		if at[0] == "" || strings.Count(at[0], ":") > 1 {
			return false
		}
		if user, pass, _ := strings.Cut(at[0], ":"); user == "" && pass == "" {
			return false
		}
		hostname = strings.Join(at[1:], "@")
	}
	var host, ipv6, port string
	hasPort := false
	if m := wrappedIPv6.FindStringSubmatch(hostname); m != nil {
		ipv6, port, hasPort = m[1], m[2], m[2] != ""
	} else {
		host, port, hasPort = strings.Cut(hostname, ":")
	}
	if hasPort && port != "" {
		if !allDigits(port) {
			return false
		}
		n, err := strconv.ParseFloat(port, 64)
		if err != nil || n <= 0 || n > 65535 {
			return false
		}
	}
	if ipv6 != "" {
		return isIP(ipv6, 6)
	}
	return isIP(host, 0) || isFQDN(host, requireTLD)
}

var wrappedIPv6 = regexp.MustCompile(`^\[([^\]]+)\](?::([0-9]+))?$`)

// jsSpaceOrAngle matches JavaScript's /[\s<>]/.
func jsSpaceOrAngle(r rune) bool {
	switch r {
	case '<', '>', ' ', '\t', '\n', '\v', '\f', '\r', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isIP is validator.isIP for version 4, 6 or either (0).
func isIP(s string, version int) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	switch version {
	case 4:
		return a.Is4()
	case 6:
		return a.Is6()
	}
	return a.Is4() || (a.Is6() && strings.Contains(s, ":"))
}

var (
	tldPattern      = regexp.MustCompile(`(?i)^(?:[a-z\x{00A1}-\x{00A8}\x{00AA}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}]{2,}|xn[a-z0-9-]{2,})$`)
	labelPattern    = regexp.MustCompile(`(?i)^[a-z_\x{00a1}-\x{10ffff}0-9-]+$`)
	fullwidthSymbol = regexp.MustCompile(`[\x{ff01}-\x{ff5e}]`)
)

// isFQDN is validator.isFQDN with allow_underscores, allow_trailing_dot and
// allow_numeric_tld off.
func isFQDN(s string, requireTLD bool) bool {
	parts := strings.Split(s, ".")
	tld := parts[len(parts)-1]
	if requireTLD && (len(parts) < 2 || !tldPattern.MatchString(tld)) {
		return false
	}
	if allDigits(tld) {
		return false
	}
	for _, p := range parts {
		if utf16Len(p) > 63 || !labelPattern.MatchString(p) || fullwidthSymbol.MatchString(p) ||
			strings.HasPrefix(p, "-") || strings.HasSuffix(p, "-") || strings.Contains(p, "_") {
			return false
		}
	}
	return true
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// iso8601 covers validator.isISO8601's calendar dates (YYYY, YYYY-MM,
// YYYY-MM-DD, basic YYYYMMDD) with an optional time (hh, hh:mm, hh:mm:ss,
// fractions) and zone. Week and ordinal dates, which validator.js also
// accepts, are refused: nobody sends them.
var iso8601 = regexp.MustCompile(`^[+-]?\d{4}(?:-?(?:0[1-9]|1[0-2])(?:-?(?:0[1-9]|[12]\d|3[01]))?` +
	`(?:[T\s](?:(?:[01]\d|2[0-3])(?::?[0-5]\d)?|24:?00)(?:[.,]\d+)?(?::?[0-5]\d(?:[.,]\d+)?)?` +
	`(?:[zZ]|[+-](?:[01]\d|2[0-3]):?(?:[0-5]\d)?)?)?)?$`)

// isDate is PeerTube's isDateValid: exists and validator.isISO8601 (which
// throws on a non-string).
func isDate(v any) bool { return exists(v) && iso8601.MatchString(assertString(v)) }

var uuidV4 = regexp.MustCompile(`(?i)^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// isUUIDv4 is PeerTube's isUUIDValid.
func isUUIDv4(v any) bool { return exists(v) && uuidV4.MatchString(jsString(v)) }

// isBoolean is PeerTube's isBooleanValid.
func isBoolean(v any) bool {
	switch x := v.(type) {
	case bool:
		return true
	case string:
		return x == "true" || x == "false" || x == "1" || x == "0"
	}
	return false
}

// SameHost is PeerTube's checkUrlsSameHost: both URLs have the same host
// (with port), case-insensitively.
func SameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" && strings.EqualFold(ua.Host, ub.Host)
}

// asArray is Array.isArray.
func asArray(v any) ([]any, bool) {
	a, ok := v.([]any)
	return a, ok
}

// includes is Array.prototype.includes with a string.
func includes(v any, s string) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range a {
		if e == s {
			return true
		}
	}
	return false
}
