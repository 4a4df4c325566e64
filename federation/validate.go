package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Validation: a Go port of the rules PeerTube 6.3 applies to remote JSON
// (server/core/helpers/custom-validators/activitypub: videos.ts, actor.ts,
// activity.ts, cache-file.ts, misc.ts), including their sanitizing side
// effects — invalid url[] entries, tags, icons, captions and storyboards are
// dropped, and defaults are set — so that Fourmi accepts what PeerTube
// accepts and, above all, emits only what PeerTube accepts. The rules run on
// the JSON as PeerTube sees it (see jsrules.go), so a Go value is validated
// through its JSON form.

// ErrUnsupported marks an activity or object type that PeerTube knows but
// Fourmi does not handle (a comment, a playlist…): an inbox can accept and
// ignore it rather than answer 400.
var ErrUnsupported = errors.New("activity or object type not handled by Fourmi")

// ValidationError names the field of an object that PeerTube would refuse.
type ValidationError struct {
	Object      string // "Video", "Actor", "Activity", "CacheFile"
	Field       string // the JSON property, e.g. "uuid", "url", "attributedTo"
	Reason      string
	unsupported bool
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s: %s", e.Object, e.Field, e.Reason)
}

// Unwrap gives ErrUnsupported for a known-but-unhandled type.
func (e *ValidationError) Unwrap() error {
	if e.unsupported {
		return ErrUnsupported
	}
	return nil
}

// ValidateOptions tune the checks.
type ValidateOptions struct {
	// AllowLocalhost accepts URLs without a TLD (http://localhost:9000/…),
	// as a PeerTube whose own hostname is localhost or 127.0.0.1 does. IP
	// addresses are always accepted, as in PeerTube.
	AllowLocalhost bool
	// Origin is the URL the object was fetched from, or for an activity the
	// outbox it was listed in. The object's id (an activity's actor) must be
	// on the same host, as PeerTube checks.
	Origin string
	// Strict adds the checks PeerTube 6.3 makes after sanitizing, when it
	// builds the video or actor (a channel Group object in a video's
	// attributedTo, on the video's host; valid magnet info-hashes; a Person
	// in a channel's attributedTo), and Fourmi's own rules for what it
	// emits or takes from an inbox: at least one video file, a parsable RSA
	// key owned by the actor, activity ids on the actor's host, an Undo or
	// Accept consistent with the activity it embeds.
	Strict bool
	// Lenient accepts a single (non-array) attributedTo, which PeerTube 7
	// and later accept and 6.3 refuses.
	Lenient bool
	// Exact refuses a Video from which PeerTube's sanitizing would drop or
	// cut something (a url[], tag, icon, caption, storyboard or
	// attributedTo entry; an over-long content): for what Fourmi emits, so
	// that a malformed entry is a bug, not a silent loss. The two entries
	// PeerTube drops from its own output are tolerated: the text/html watch
	// link and ws(s):// trackers.
	Exact bool
}

// ParseVideo decodes a Video from JSON, applying PeerTube 6.3's rules and
// sanitizing. The error is a *ValidationError naming the field.
func ParseVideo(raw []byte, opt ValidateOptions) (*Video, error) {
	var m any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &ValidationError{Object: "Video", Field: "(json)", Reason: err.Error()}
	}
	if err := checkVideo(m, opt); err != nil {
		return nil, err
	}
	var v Video
	if err := remarshal(m, &v); err != nil {
		return nil, &ValidationError{Object: "Video", Field: "(json)", Reason: err.Error()}
	}
	return &v, nil
}

// ValidateVideo checks v against PeerTube 6.3's rules for a remote video
// (sanitizeAndCheckVideoTorrentObject) and applies its sanitizing to v.
// Every Video Fourmi emits must pass it with Strict and Exact set.
func ValidateVideo(v *Video, opt ValidateOptions) error {
	m, err := toJS(v)
	if err != nil {
		return &ValidationError{Object: "Video", Field: "(json)", Reason: err.Error()}
	}
	if err := checkVideo(m, opt); err != nil {
		return err
	}
	var nv Video
	if err := remarshal(m, &nv); err != nil {
		return &ValidationError{Object: "Video", Field: "(json)", Reason: err.Error()}
	}
	*v = nv
	return nil
}

// ParseActor decodes an actor from JSON, applying PeerTube 6.3's rules
// (sanitizeAndCheckActorObject).
func ParseActor(raw []byte, opt ValidateOptions) (*Actor, error) {
	var m any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &ValidationError{Object: "Actor", Field: "(json)", Reason: err.Error()}
	}
	if err := checkActor(m, opt); err != nil {
		return nil, err
	}
	var a Actor
	if err := remarshal(m, &a); err != nil {
		return nil, &ValidationError{Object: "Actor", Field: "(json)", Reason: err.Error()}
	}
	return &a, nil
}

// ValidateActor checks a against PeerTube 6.3's actor rules and applies
// their normalization.
func ValidateActor(a *Actor, opt ValidateOptions) error {
	m, err := toJS(a)
	if err != nil {
		return &ValidationError{Object: "Actor", Field: "(json)", Reason: err.Error()}
	}
	if err := checkActor(m, opt); err != nil {
		return err
	}
	var na Actor
	if err := remarshal(m, &na); err != nil {
		return &ValidationError{Object: "Actor", Field: "(json)", Reason: err.Error()}
	}
	*a = na
	return nil
}

// ValidateActivity checks a against PeerTube 6.3's rules for its type
// (isActivityValid: isBaseActivityValid plus the object's checks), with the
// same-host rules of ValidateOptions. An embedded Video is sanitized in
// place. Types PeerTube knows and Fourmi does not handle give a
// ValidationError wrapping ErrUnsupported.
func ValidateActivity(a *Activity, opt ValidateOptions) error {
	m, err := toJS(a)
	if err != nil {
		return &ValidationError{Object: "Activity", Field: "(json)", Reason: err.Error()}
	}
	if err := checkActivity(m, opt); err != nil {
		return err
	}
	var na Activity
	if err := remarshal(m, &na); err != nil {
		return &ValidationError{Object: "Activity", Field: "(json)", Reason: err.Error()}
	}
	*a = na
	return nil
}

// ParseAndValidateActivity decodes an incoming activity and checks it with
// ValidateActivity's rules on the JSON exactly as received (what an inbox
// should use: a typed Activity cannot tell "to": null from no "to").
func ParseAndValidateActivity(raw []byte, opt ValidateOptions) (*Activity, error) {
	var m any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &ValidationError{Object: "Activity", Field: "(json)", Reason: err.Error()}
	}
	if err := checkActivity(m, opt); err != nil {
		return nil, err
	}
	var a Activity
	if err := remarshal(m, &a); err != nil {
		return nil, &ValidationError{Object: "Activity", Field: "(json)", Reason: err.Error()}
	}
	return &a, nil
}

// ValidateCacheFile checks c against PeerTube 6.3's isCacheFileObjectValid.
func ValidateCacheFile(c *CacheFile, opt ValidateOptions) error {
	m, err := toJS(c)
	if err != nil {
		return &ValidationError{Object: "CacheFile", Field: "(json)", Reason: err.Error()}
	}
	return checkCacheFile(m, opt)
}

// toJS is v as JavaScript sees it after JSON.parse.
func toJS(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m any
	return m, json.Unmarshal(b, &m)
}

func remarshal(m any, v any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// checker runs one of PeerTube's validators: fail() reports the field, and
// a JavaScript exception (a jsThrow panic) fails the step in progress.
type checker struct {
	object  string
	step    string
	opt     ValidateOptions
	dropped []dropped // what sanitizing removed, for Exact
}

type dropped struct {
	field string
	value any
}

// drop records that sanitizing removed v from field.
func (c *checker) drop(field string, v any) { c.dropped = append(c.dropped, dropped{field, v}) }

func (c *checker) fail(field, format string, args ...any) error {
	return &ValidationError{Object: c.object, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// run calls f, turning a jsThrow into a failure of the current step.
func (c *checker) run(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			t, ok := r.(jsThrow)
			if !ok {
				panic(r)
			}
			err = c.fail(c.step, "%s (PeerTube throws here and refuses the object)", t.reason)
		}
	}()
	return f()
}

func (c *checker) url(v any) bool { return apURL(v, c.opt.AllowLocalhost) }

// ---------------------------------------------------------------------------
// Video: sanitizeAndCheckVideoTorrentObject (videos.ts)

// Limits from PeerTube 6.3's CONSTRAINTS_FIELDS.VIDEOS.
const (
	videoNameMin, videoNameMax       = 3, 120
	videoDescMin, videoDescMax       = 3, 10000
	videoTagMin, videoTagMax         = 2, 30
	thumbnailMinRemoteWidth          = 150
	actorSummaryMin, actorSummaryMax = 3, 1000
	publicKeyMin, publicKeyMax       = 10, 5000
	abuseReasonMin, abuseReasonMax   = 2, 3000
)

func checkVideo(v any, opt ValidateOptions) error {
	c := &checker{object: "Video", opt: opt}
	return c.run(func() error { return c.video(v) })
}

func (c *checker) video(v any) error {
	video, ok := v.(map[string]any)
	if !ok || video["type"] != string(TypeVideo) {
		return c.fail("type", "not a Video object")
	}
	c.step = "tag"
	c.sanitizeTags(video)
	c.step = "url"
	if !c.sanitizeVideoURLs(video) {
		return c.fail("url", "not an array")
	}
	c.step = "content"
	if truthy(video["content"]) {
		s := jsString(video["content"])
		if t := truncate(s, videoDescMax); t != s {
			c.drop("content", "the end of the content")
			video["content"] = t
		} else {
			video["content"] = s
		}
	}
	c.step = "attributedTo"
	c.sanitizeAttributedTo(video)
	c.step = "subtitleLanguage"
	if !c.sanitizeCaptions(video) {
		return c.fail("subtitleLanguage", "not an array")
	}
	c.step = "icon"
	if !c.sanitizeIcons(video) {
		return c.fail("icon", "no valid icon (type Image, an http(s) url, mediaType image/jpeg, integer width and height)")
	}
	c.step = "preview"
	if !c.sanitizeStoryboards(video) {
		return c.fail("preview", "not an array")
	}
	c.step = "licence"
	if !c.sanitizeLicence(video) {
		return c.fail("licence", "identifier is not a non-negative integer")
	}
	c.step = ""

	// PeerTube < 6.1 sent identifier instead of uuid.
	if !truthy(video["uuid"]) && truthy(video["identifier"]) {
		video["uuid"] = video["identifier"]
	}

	// Defaults.
	if !isVideoState(video["state"]) {
		video["state"] = 1.0 // published
	}
	for name, def := range map[string]bool{"waitTranscoding": false, "downloadEnabled": true, "isLiveBroadcast": false,
		"liveSaveReplay": false, "permanentLive": false, "sensitive": false} {
		if !isBoolean(video[name]) {
			video[name] = def
		}
	}
	if lm, ok := video["latencyMode"].(float64); !ok || (lm != 1 && lm != 2 && lm != 3) {
		video["latencyMode"] = 1.0 // default latency
	}
	switch {
	case truthy(video["commentsPolicy"]):
		if !isCommentsPolicy(video["commentsPolicy"]) {
			video["commentsPolicy"] = 2.0 // disabled
		}
	case video["commentsEnabled"] == true:
		video["commentsPolicy"] = 1.0 // enabled
	default:
		video["commentsPolicy"] = 2.0
	}

	if !c.url(video["id"]) {
		return c.fail("id", "not an http(s) URL of at most 2000 characters with a valid host")
	}
	c.step = "name"
	if !exists(video["name"]) || !isLength(video["name"], videoNameMin, videoNameMax) {
		return c.fail("name", "must be %d to %d characters", videoNameMin, videoNameMax)
	}
	d, isStr := video["duration"].(string)
	if !isStr || len(d) < 2 || d[:2] != "PT" || d[len(d)-1] != 'S' {
		return c.fail("duration", "must be a string PT<seconds>S, got %s", jsValue(video["duration"]))
	}
	if !isInt(nonDigits.ReplaceAllString(d, ""), true, 0) {
		return c.fail("duration", "%q holds no number of seconds", d)
	}
	if !isUUIDv4(video["uuid"]) {
		return c.fail("uuid", "not a UUID v4: %s", jsValue(video["uuid"]))
	}
	c.step = "category"
	if cat := video["category"]; exists(cat) && !isInt(assertString(prop(cat, "identifier")), true, 0) {
		return c.fail("category", "identifier is not a non-negative integer")
	}
	if lang := video["language"]; exists(lang) {
		if _, ok := prop(lang, "identifier").(string); !ok {
			return c.fail("language", "identifier is not a string")
		}
	}
	if !exists(video["views"]) || !isIntValue(video["views"], 0) {
		return c.fail("views", "not a non-negative integer: %s", jsValue(video["views"]))
	}
	for _, f := range []string{"published", "updated"} {
		c.step = f
		if !isDate(video[f]) {
			return c.fail(f, "not an ISO 8601 date: %s", jsValue(video[f]))
		}
	}
	for _, f := range []string{"originallyPublishedAt", "uploadDate"} {
		c.step = f
		if exists(video[f]) && !isDate(video[f]) {
			return c.fail(f, "not an ISO 8601 date: %s", jsValue(video[f]))
		}
	}
	c.step = "content"
	if content := video["content"]; exists(content) {
		if mt := video["mediaType"]; mt != MediaTypeMarkdown && mt != "text/html" {
			return c.fail("mediaType", "content needs mediaType text/markdown (or text/html), got %s", jsValue(mt))
		}
		if !isLength(content, videoDescMin, videoDescMax) {
			return c.fail("content", "must be %d to %d characters (omit it when there is no description)", videoDescMin, videoDescMax)
		}
	}
	if at, _ := asArray(video["attributedTo"]); len(at) == 0 {
		return c.fail("attributedTo", "no valid account or channel (an array of URLs or {type: Person|Group, id})")
	}
	if c.opt.Origin != "" && !SameHost(jsString(video["id"]), c.opt.Origin) {
		return c.fail("id", "%s is not on the host it was fetched from (%s)", jsString(video["id"]), c.opt.Origin)
	}
	if c.opt.Strict {
		if err := c.strictVideo(video); err != nil {
			return err
		}
	}
	if c.opt.Exact && len(c.dropped) > 0 {
		d := c.dropped[0]
		return c.fail(d.field, "PeerTube would drop %s (%d entries dropped in all)", jsValue(d.value), len(c.dropped))
	}
	return nil
}

var nonDigits = regexp.MustCompile(`[^0-9]+`)

// jsValue shows a value in an error message.
func jsValue(v any) string {
	if v == nil {
		return "nothing"
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return jsType(v)
	}
	return string(b)
}

func isVideoState(v any) bool {
	if !exists(v) {
		return false
	}
	switch jsString(v) {
	case "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11":
		return true
	}
	return false
}

func isCommentsPolicy(v any) bool {
	if v == nil {
		return true
	}
	switch jsString(v) {
	case "1", "2", "3":
		return true
	}
	return false
}

// sanitizeTags is setValidRemoteTags: keep Hashtags of 2–30 characters.
func (c *checker) sanitizeTags(video map[string]any) {
	tags, ok := asArray(video["tag"])
	if !ok {
		video["tag"] = []any{}
		return
	}
	out := []any{}
	for _, t := range tags {
		if prop(t, "type") != string(TypeHashtag) {
			c.drop("tag", t)
			continue
		}
		if name := prop(t, "name"); exists(name) && isLength(name, videoTagMin, videoTagMax) {
			out = append(out, t)
			continue
		}
		c.drop("tag", t)
	}
	video["tag"] = out
}

// sanitizeVideoURLs is setValidRemoteVideoUrls.
func (c *checker) sanitizeVideoURLs(video map[string]any) bool {
	urls, ok := asArray(video["url"])
	if !ok {
		return false
	}
	out := []any{}
	for _, u := range urls {
		if c.remoteVideoURL(u) {
			out = append(out, u)
		} else if !harmlessDrop(u) {
			c.drop("url", u)
		}
	}
	video["url"] = out
	return true
}

// apVideoMediaTypes is MIMETYPES.AP_VIDEO.
var apVideoMediaTypes = map[string]bool{"video/mp4": true, "video/ogg": true, "video/webm": true, "audio/mp4": true}

// remoteVideoURL is isRemoteVideoUrlValid: a file, torrent, magnet, HLS
// playlist, tracker or metadata link. (Only the file case requires type
// Link: that is how PeerTube's && and || group.)
func (c *checker) remoteVideoURL(u any) bool {
	typ, mt, href, height := prop(u, "type"), prop(u, "mediaType"), prop(u, "href"), prop(u, "height")
	mtKey := ""
	if exists(mt) {
		mtKey = jsString(mt)
	}
	if typ == string(TypeLink) && apVideoMediaTypes[mtKey] && c.url(href) && isIntValue(height, 0) &&
		isIntValue(prop(u, "size"), 0) && (!truthy(prop(u, "fps")) || isIntValue(prop(u, "fps"), -1)) {
		return true
	}
	if mtKey == MediaTypeTorrent && c.url(href) && isIntValue(height, 0) {
		return true
	}
	if mtKey == MediaTypeMagnet && isLength(href, 5, -1) && isIntValue(height, 0) {
		return true
	}
	hlsType := mt
	if !truthy(hlsType) {
		hlsType = prop(u, "mimeType")
	}
	if hlsType == MediaTypeHLS && c.url(href) {
		if _, ok := asArray(prop(u, "tag")); ok {
			return true
		}
	}
	if includes(prop(u, "rel"), "tracker") && c.url(href) {
		return true
	}
	return typ == string(TypeLink) && mt == MediaTypeJSON && includes(prop(u, "rel"), "metadata")
}

// harmlessDrop: the url[] entries PeerTube drops from its own output.
func harmlessDrop(u any) bool {
	if prop(u, "mediaType") == MediaTypeHTML {
		return true
	}
	href, _ := prop(u, "href").(string)
	return includes(prop(u, "rel"), "tracker") && (strings.HasPrefix(href, "ws://") || strings.HasPrefix(href, "wss://"))
}

// sanitizeAttributedTo is setValidAttributedTo (misc.ts): keep actor URLs
// and {type: Person|Group, id: URL}.
func (c *checker) sanitizeAttributedTo(obj map[string]any) {
	list, ok := asArray(obj["attributedTo"])
	if !ok {
		if c.opt.Lenient && exists(obj["attributedTo"]) {
			list = []any{obj["attributedTo"]}
		} else {
			obj["attributedTo"] = []any{}
			return
		}
	}
	out := []any{}
	for _, a := range list {
		if c.url(a) {
			out = append(out, a)
			continue
		}
		if t := prop(a, "type"); (t == string(TypeGroup) || t == string(TypePerson)) && c.url(prop(a, "id")) {
			out = append(out, a)
			continue
		}
		c.drop("attributedTo", a)
	}
	obj["attributedTo"] = out
}

// sanitizeCaptions is setValidRemoteCaptions.
func (c *checker) sanitizeCaptions(video map[string]any) bool {
	if !truthy(video["subtitleLanguage"]) {
		video["subtitleLanguage"] = []any{}
	}
	caps, ok := asArray(video["subtitleLanguage"])
	if !ok {
		return false
	}
	out := []any{}
	for _, cp := range caps {
		switch x := cp.(type) {
		case nil:
			panic(jsThrow{"subtitleLanguage holds null"})
		case map[string]any:
			if !c.url(x["url"]) {
				x["url"] = nil
			}
			if _, ok := x["identifier"].(string); ok {
				out = append(out, x)
			} else {
				c.drop("subtitleLanguage", x)
			}
		case []any:
			c.drop("subtitleLanguage", x) // an array has no identifier
		default:
			panic(jsThrow{"cannot set url on a " + jsType(cp) + " caption"})
		}
	}
	video["subtitleLanguage"] = out
	return true
}

// sanitizeIcons is setValidRemoteIcon: keep JPEG images with integer sizes;
// at least one must remain.
func (c *checker) sanitizeIcons(video map[string]any) bool {
	icons, ok := asArray(video["icon"])
	switch {
	case truthy(video["icon"]) && !ok:
		icons = []any{video["icon"]}
	case !truthy(video["icon"]):
		icons = nil
	}
	out := []any{}
	for _, im := range icons {
		if prop(im, "type") == string(TypeImage) && c.url(prop(im, "url")) && prop(im, "mediaType") == MediaTypeJPEG &&
			isIntValue(prop(im, "width"), 0) && isIntValue(prop(im, "height"), 0) {
			out = append(out, im)
			continue
		}
		c.drop("icon", im)
	}
	video["icon"] = out
	return len(out) != 0
}

// sanitizeStoryboards is setValidStoryboard.
func (c *checker) sanitizeStoryboards(video map[string]any) bool {
	if !truthy(video["preview"]) {
		return true
	}
	previews, ok := asArray(video["preview"])
	if !ok {
		return false
	}
	out := []any{}
	for _, p := range previews {
		if c.storyboard(p) {
			out = append(out, p)
		} else {
			c.drop("preview", p)
		}
	}
	video["preview"] = out
	return true
}

func (c *checker) storyboard(p any) bool {
	if !truthy(p) {
		return false
	}
	if prop(p, "type") != string(TypeImage) || !includes(prop(p, "rel"), "storyboard") {
		return false
	}
	tiles, ok := asArray(prop(p, "url"))
	if !ok {
		panic(jsThrow{"storyboard url is not an array"})
	}
	out := []any{}
	for _, u := range tiles {
		td, _ := prop(u, "tileDuration").(string)
		if prop(u, "mediaType") == MediaTypeJPEG && c.url(prop(u, "href")) &&
			isIntValue(prop(u, "width"), 0) && isIntValue(prop(u, "height"), 0) &&
			isIntValue(prop(u, "tileWidth"), 0) && isIntValue(prop(u, "tileHeight"), 0) &&
			len(td) >= 2 && td[:2] == "PT" && td[len(td)-1] == 'S' {
			out = append(out, u)
		} else {
			c.drop("preview", u)
		}
	}
	p.(map[string]any)["url"] = out
	return len(out) != 0
}

// spdxLicences is PeerTube's spdxToPeertubeLicence.
var spdxLicences = map[string]string{
	"CC-BY-4.0": "1", "CC-BY-SA-4.0": "2", "CC-BY-ND-4.0": "3", "CC-BY-NC-4.0": "4",
	"CC-BY-NC-SA-4.0": "5", "CC-BY-NC-ND-4.0": "6", "CC0": "7",
}

// sanitizeLicence is setValidLicence: a numeric identifier must be ≥ 0, an
// SPDX one is mapped to PeerTube's number or dropped.
func (c *checker) sanitizeLicence(video map[string]any) bool {
	lic := video["licence"]
	if !exists(lic) {
		return true
	}
	id := assertString(prop(lic, "identifier"))
	if isInt(id, false, 0) {
		return isInt(id, true, 0)
	}
	if m, ok := lic.(map[string]any); ok {
		if n, ok := spdxLicences[id]; ok {
			m["identifier"] = n
		} else {
			delete(m, "identifier")
		}
	}
	return true
}

// strictVideo: what PeerTube 6.3 needs after sanitizing to build the video,
// and Fourmi's emission rules.
func (c *checker) strictVideo(video map[string]any) error {
	id := jsString(video["id"])
	at, _ := asArray(video["attributedTo"])
	channel := ""
	for _, a := range at {
		if prop(a, "type") == string(TypeGroup) {
			channel = jsString(prop(a, "id"))
			break
		}
	}
	if channel == "" {
		return c.fail("attributedTo", "no {type: Group, id} channel: PeerTube 6.3 cannot attach the video to a channel (bare URLs are not enough)")
	}
	if !SameHost(channel, id) {
		return c.fail("attributedTo", "channel %s is not on the video's host", channel)
	}
	files := 0
	var scan func(links []any) error
	scan = func(links []any) error {
		for _, l := range links {
			mt := prop(l, "mediaType")
			if s, ok := mt.(string); ok && apVideoMediaTypes[s] {
				files++
			}
			if mt == MediaTypeMagnet {
				if _, err := MagnetInfoHash(jsString(prop(l, "href"))); err != nil {
					return c.fail("url", "%v (PeerTube 6.3 refuses the video)", err)
				}
			}
			if mt == MediaTypeHLS {
				tags, _ := asArray(prop(l, "tag"))
				if err := scan(tags); err != nil {
					return err
				}
			}
		}
		return nil
	}
	urls, _ := asArray(video["url"])
	if err := scan(urls); err != nil {
		return err
	}
	if files == 0 {
		return c.fail("url", "no video file (video/mp4 link) in url[] nor in an HLS playlist")
	}
	return nil
}

// ---------------------------------------------------------------------------
// Actor: sanitizeAndCheckActorObject (actor.ts)

var preferredUsernamePattern = regexp.MustCompile(`^[A-Za-z0-9\-_.:]+$`)

func checkActor(v any, opt ValidateOptions) error {
	c := &checker{object: "Actor", opt: opt}
	return c.run(func() error { return c.actor(v) })
}

func (c *checker) actor(v any) error {
	actor, ok := v.(map[string]any)
	if !ok {
		return c.fail("type", "not an object")
	}
	if t, _ := actor["type"].(string); !isActorType(t) {
		return c.fail("type", "%s is not Person, Application, Group, Service or Organization", jsValue(actor["type"]))
	}
	// normalizeActor
	c.step = "url"
	switch u := actor["url"]; {
	case !truthy(u):
		actor["url"] = actor["id"]
	default:
		if list, ok := u.([]any); ok {
			if len(list) > 0 {
				actor["url"] = list[0]
			} else {
				actor["url"] = nil
			}
		} else if _, ok := u.(string); !ok {
			if h := prop(u, "href"); truthy(h) {
				actor["url"] = h
			} else {
				actor["url"] = prop(u, "url")
			}
		}
	}
	c.step = "published"
	if !isDate(actor["published"]) {
		delete(actor, "published")
	}
	if s, ok := actor["summary"].(string); ok && s != "" {
		s = truncate(s, actorSummaryMax)
		if jsLength(s) < actorSummaryMin {
			actor["summary"] = nil
		} else {
			actor["summary"] = s
		}
	}
	c.step = ""

	if !c.url(actor["id"]) {
		return c.fail("id", "not an http(s) URL with a valid host")
	}
	if !c.url(actor["inbox"]) {
		return c.fail("inbox", "not an http(s) URL with a valid host")
	}
	c.step = "preferredUsername"
	if pu := actor["preferredUsername"]; !exists(pu) || !preferredUsernamePattern.MatchString(assertString(pu)) {
		return c.fail("preferredUsername", "must match [A-Za-z0-9-_.:]+, got %s", jsValue(pu))
	}
	if !c.url(actor["url"]) {
		return c.fail("url", "not an http(s) URL with a valid host")
	}
	c.step = "publicKey"
	pk := actor["publicKey"]
	if !c.url(prop(pk, "id")) || !c.url(prop(pk, "owner")) || !isPublicKeyPEM(prop(pk, "publicKeyPem")) {
		return c.fail("publicKey", "needs id and owner URLs and an SPKI PEM (BEGIN PUBLIC KEY)")
	}
	if ep := actor["endpoints"]; exists(ep) && truthy(prop(ep, "sharedInbox")) && !c.url(prop(ep, "sharedInbox")) {
		return c.fail("endpoints", "sharedInbox is not an http(s) URL")
	}
	for _, f := range []string{"outbox", "following", "followers"} {
		if truthy(actor[f]) && !c.url(actor[f]) {
			return c.fail(f, "not an http(s) URL")
		}
	}
	c.step = "attributedTo"
	c.sanitizeAttributedTo(actor)
	if !truthy(actor["summary"]) {
		actor["summary"] = nil
	}
	if at, _ := asArray(actor["attributedTo"]); actor["type"] == string(TypeGroup) && len(at) == 0 {
		return c.fail("attributedTo", "a Group (channel) must be attributed to its account")
	}
	id := jsString(actor["id"])
	if c.opt.Origin != "" && !SameHost(id, c.opt.Origin) {
		return c.fail("id", "%s is not on the host it was fetched from (%s)", id, c.opt.Origin)
	}
	if !c.opt.Strict {
		return nil
	}
	if _, err := ParsePublicKeyPEM(jsString(prop(pk, "publicKeyPem"))); err != nil {
		return c.fail("publicKey", "%v", err)
	}
	if jsString(prop(pk, "owner")) != id {
		return c.fail("publicKey", "owner %s is not the actor %s", jsString(prop(pk, "owner")), id)
	}
	if actor["type"] == string(TypeGroup) {
		at, _ := asArray(actor["attributedTo"])
		owner := ""
		for _, a := range at {
			if prop(a, "type") == string(TypePerson) {
				owner = jsString(prop(a, "id"))
				break
			}
		}
		if owner == "" {
			return c.fail("attributedTo", "no {type: Person, id} account: PeerTube 6.3 cannot find the channel's owner")
		}
		if !SameHost(owner, id) {
			return c.fail("attributedTo", "account %s is not on the channel's host", owner)
		}
	}
	return nil
}

func isPublicKeyPEM(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	n := jsLength(s)
	return strings.HasPrefix(s, "-----BEGIN PUBLIC KEY-----") && strings.Contains(s, "-----END PUBLIC KEY-----") &&
		n >= publicKeyMin && n <= publicKeyMax
}

// ---------------------------------------------------------------------------
// Activities: isActivityValid (activity.ts) and isBaseActivityValid (misc.ts)

func checkActivity(v any, opt ValidateOptions) error {
	c := &checker{object: "Activity", opt: opt}
	return c.run(func() error { return c.activity(v, 0) })
}

// maxActivityDepth bounds Undo{Undo{…}} nesting.
const maxActivityDepth = 4

func (c *checker) activity(v any, depth int) error {
	a, ok := v.(map[string]any)
	if !ok {
		if depth == 0 {
			return c.fail("(json)", "not a JSON object")
		}
		return c.fail("object", "not an activity object")
	}
	if depth > maxActivityDepth {
		return c.fail("object", "activities nested too deep")
	}
	t, _ := a["type"].(string)
	if err := c.base(a, t); err != nil {
		return err
	}
	obj := a["object"]
	switch Type(t) {
	case TypeCreate:
		if err := c.createdObject(obj); err != nil {
			return err
		}
	case TypeUpdate:
		if err := c.updatedObject(obj); err != nil {
			return err
		}
	case TypeDelete, TypeFollow, TypeAnnounce, TypeLike, TypeDislike:
		if !c.objectRef(obj) {
			return c.fail("object", "not a URL nor an object with a URL id")
		}
	case TypeAccept, TypeReject:
	case TypeUndo:
		inner, ok := obj.(map[string]any)
		if !ok {
			return c.fail("object", "Undo must embed the activity it undoes (PeerTube refuses a bare IRI)")
		}
		switch Type(jsString(inner["type"])) {
		case TypeFollow, TypeLike, TypeDislike, TypeAnnounce, TypeCreate:
		default:
			return c.fail("object", "cannot undo %s", jsValue(inner["type"]))
		}
		if err := c.activity(inner, depth+1); err != nil {
			return err
		}
	case TypeView:
		if !c.url(a["actor"]) || !c.url(obj) {
			return c.fail("object", "a View needs a URL actor and a URL object")
		}
	case TypeFlag:
		c.step = "content"
		if !exists(a["content"]) || !isLength(a["content"], abuseReasonMin, abuseReasonMax) {
			return c.fail("content", "the reason must be %d to %d characters", abuseReasonMin, abuseReasonMax)
		}
		if !c.url(obj) {
			return c.fail("object", "not a URL")
		}
	case "ApproveReply", "RejectReply":
		return &ValidationError{Object: c.object, Field: "type", Reason: t + " (comments)", unsupported: true}
	default:
		return c.fail("type", "%s is not an activity PeerTube handles", jsValue(a["type"]))
	}
	return c.sameHostRules(a, t, depth)
}

// base is isBaseActivityValid: id and actor URLs, to and cc absent, a URL
// or an array of URLs.
func (c *checker) base(a map[string]any, t string) error {
	if t == "" {
		return c.fail("type", "missing")
	}
	if !c.url(a["id"]) {
		return c.fail("id", "not an http(s) URL with a valid host")
	}
	if !c.objectRef(a["actor"]) {
		return c.fail("actor", "not a URL nor an object with a URL id")
	}
	for _, f := range []string{"to", "cc"} {
		v, present := a[f]
		if !present {
			continue
		}
		switch x := v.(type) {
		case string:
			if c.url(x) {
				continue
			}
		case []any:
			all := true
			for _, e := range x {
				all = all && c.url(e)
			}
			if all {
				continue
			}
		}
		return c.fail(f, "must be a URL or an array of URLs (the public collection in full: %s)", Public)
	}
	return nil
}

// objectRef is isObjectValid: a URL, or an object with a URL id.
func (c *checker) objectRef(v any) bool {
	if !exists(v) {
		return false
	}
	if c.url(v) {
		return true
	}
	return c.url(prop(v, "id"))
}

func (c *checker) createdObject(obj any) error {
	o, ok := obj.(map[string]any)
	if !ok {
		return c.fail("object", "Create must embed its object")
	}
	switch t := jsString(o["type"]); Type(t) {
	case TypeVideo:
		return c.nested("Video", func(n *checker) error { return n.video(o) })
	case TypeCacheFile:
		return c.nested("CacheFile", func(n *checker) error { return n.cacheFile(o) })
	case TypeView, TypeDislike, TypeFlag:
		return c.nested("Activity", func(n *checker) error { return n.activity(o, maxActivityDepth) })
	case "Note", "Playlist", "WatchAction":
		return &ValidationError{Object: c.object, Field: "object", Reason: "Create{" + t + "}", unsupported: true}
	default:
		return c.fail("object", "Create of %s is not something PeerTube creates", jsValue(o["type"]))
	}
}

func (c *checker) updatedObject(obj any) error {
	o, ok := obj.(map[string]any)
	if !ok {
		return c.fail("object", "Update must embed its object")
	}
	t := jsString(o["type"])
	switch {
	case Type(t) == TypeVideo:
		return c.nested("Video", func(n *checker) error { return n.video(o) })
	case Type(t) == TypeCacheFile:
		return c.nested("CacheFile", func(n *checker) error { return n.cacheFile(o) })
	case isActorType(t):
		return c.nested("Actor", func(n *checker) error { return n.actor(o) })
	case t == "Playlist":
		return &ValidationError{Object: c.object, Field: "object", Reason: "Update{Playlist}", unsupported: true}
	}
	return c.fail("object", "Update of %s is not something PeerTube updates", jsValue(o["type"]))
}

// nested checks an embedded object with its own checker (same options, no
// Origin: the origin rule applies to the activity's actor).
func (c *checker) nested(object string, f func(*checker) error) error {
	opt := c.opt
	opt.Origin = ""
	n := &checker{object: object, opt: opt}
	return n.run(func() error { return f(n) })
}

// sameHostRules: the activity's actor must be on the host of the outbox it
// came from (PeerTube's processActivities); with Strict, Fourmi's rules:
// the id and an embedded object live on the actor's host, an Undo undoes
// the actor's own activity, an Accept or Reject answers a Follow of the
// actor.
func (c *checker) sameHostRules(a map[string]any, t string, depth int) error {
	actor := jsString(a["actor"])
	if m, ok := a["actor"].(map[string]any); ok {
		actor = jsString(m["id"])
	}
	if depth == 0 && c.opt.Origin != "" && !SameHost(actor, c.opt.Origin) {
		return c.fail("actor", "%s is not on the host of %s", actor, c.opt.Origin)
	}
	if !c.opt.Strict {
		return nil
	}
	if !SameHost(jsString(a["id"]), actor) {
		return c.fail("id", "%s is not on the actor's host", jsString(a["id"]))
	}
	obj, embedded := a["object"].(map[string]any)
	if !embedded {
		return nil
	}
	switch Type(t) {
	case TypeCreate, TypeUpdate:
		if !SameHost(jsString(obj["id"]), actor) {
			return c.fail("object", "%s is not on the actor's host", jsString(obj["id"]))
		}
	case TypeUndo:
		if inner := refID(obj["actor"]); inner != actor {
			return c.fail("object", "undoes an activity of %s, not of the actor", inner)
		}
	case TypeAccept, TypeReject:
		if obj["type"] == string(TypeFollow) && refID(obj["object"]) != actor {
			return c.fail("object", "answers a Follow of %s, not of the actor", refID(obj["object"]))
		}
	}
	return nil
}

// refID is getAPId: a string, or an object's id.
func refID(v any) string {
	if m, ok := v.(map[string]any); ok {
		return jsString(m["id"])
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// ---------------------------------------------------------------------------
// CacheFile: isCacheFileObjectValid (cache-file.ts)

func checkCacheFile(v any, opt ValidateOptions) error {
	c := &checker{object: "CacheFile", opt: opt}
	return c.run(func() error { return c.cacheFile(v) })
}

func (c *checker) cacheFile(v any) error {
	o, ok := v.(map[string]any)
	if !ok || o["type"] != string(TypeCacheFile) {
		return c.fail("type", "not a CacheFile")
	}
	c.step = "expires"
	if truthy(o["expires"]) && !isDate(o["expires"]) {
		return c.fail("expires", "not an ISO 8601 date")
	}
	if !c.url(o["object"]) {
		return c.fail("object", "not the video's URL")
	}
	c.step = "url"
	u := o["url"]
	mt := prop(u, "mediaType")
	size, fps := prop(u, "size"), prop(u, "fps")
	if !truthy(size) {
		size = prop(u, "_:size")
	}
	if !truthy(fps) {
		fps = prop(u, "_fps")
	}
	file := exists(mt) && apVideoMediaTypes[jsString(mt)] && c.url(prop(u, "href")) && isIntValue(prop(u, "height"), 0) &&
		isIntValue(size, 0) && (!truthy(fps) || isIntValue(fps, -1))
	playlistType := mt
	if !truthy(playlistType) {
		playlistType = prop(u, "mimeType")
	}
	playlist := prop(u, "type") == string(TypeLink) && playlistType == MediaTypeHLS && c.url(prop(u, "href"))
	if !file && !playlist {
		return c.fail("url", "neither a video file link (mediaType, href, height, size) nor an HLS playlist link")
	}
	return nil
}
