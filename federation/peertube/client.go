// Package peertube is a client for PeerTube's REST API (version 6 and later)
// and for Sepia-Search-compatible global search indexes, which serve the same
// /api/v1/search/videos shape.
//
// It is defensive: every request has a timeout and a response size cap, an
// answer that is not PeerTube JSON gives ErrNotPeerTube, and HTTP 429 backs
// off (honouring Retry-After) before retrying.
package peertube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrNotPeerTube means the server answered, but not as a PeerTube instance:
// HTML, another JSON shape, or a missing API.
var ErrNotPeerTube = errors.New("this is not a PeerTube instance")

// ErrTooLarge means the answer exceeded the client's size cap.
var ErrTooLarge = errors.New("response too large")

// HTTPError is a non-success status from the server.
type HTTPError struct {
	Status int
	URL    string
	Detail string // PeerTube's error "detail" or "error" field, when it sent one
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// NotFound reports whether err is a 404 from the server.
func NotFound(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}

// Options tune a Client. The zero value gives sensible defaults.
type Options struct {
	HTTPClient *http.Client  // default: one with Timeout
	Timeout    time.Duration // whole-request timeout; default 20 s
	MaxBody    int64         // response cap in bytes; default 8 MiB
	Retries    int           // retries after 429 or 503; default 3
	MaxBackoff time.Duration // cap of one wait; default 30 s
	UserAgent  string        // default "Fourmi"
}

// Client talks to one PeerTube instance (or one search index).
type Client struct {
	base *url.URL
	hc   *http.Client
	opt  Options
	// sleep waits d or until ctx ends; replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a client for the instance at base: a URL ("https://host",
// "http://127.0.0.1:9000") or a bare host, which means https.
func New(base string, opt Options) (*Client, error) {
	u, err := ParseBase(base)
	if err != nil {
		return nil, err
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 20 * time.Second
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = 8 << 20
	}
	if opt.Retries < 0 {
		opt.Retries = 0
	} else if opt.Retries == 0 {
		opt.Retries = 3
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.UserAgent == "" {
		opt.UserAgent = "Fourmi"
	}
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: opt.Timeout}
	}
	return &Client{base: u, hc: hc, opt: opt, sleep: sleepCtx}, nil
}

// ParseBase turns what a person types ("framatube.org", "https://x.y/",
// "http://127.0.0.1:9000/videos/...") into the instance's base URL.
func ParseBase(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("no instance given")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an instance address: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: only http and https instances are supported", s)
	}
	if u.Host == "" || strings.ContainsAny(u.Host, " \t") {
		return nil, fmt.Errorf("%q names no host", s)
	}
	return &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host)}, nil
}

// Base is the instance's base URL, e.g. "https://framatube.org".
func (c *Client) Base() string { return c.base.String() }

// Host is the instance's host[:port].
func (c *Client) Host() string { return c.base.Host }

// Abs resolves a path PeerTube returned (thumbnailPath, …) against the instance.
func (c *Client) Abs(path string) string {
	if path == "" {
		return ""
	}
	ref, err := url.Parse(path)
	if err != nil {
		return ""
	}
	return c.base.ResolveReference(ref).String()
}

// ListOptions select a page of a list endpoint.
type ListOptions struct {
	Start int
	Count int  // 1–100; 0 means 15, PeerTube's default
	Sort  Sort // "" means the endpoint's default
	// NSFW: "" leaves the instance's default, "true"/"false"/"both".
	NSFW string
}

func (o ListOptions) values() url.Values {
	v := url.Values{}
	if o.Start > 0 {
		v.Set("start", strconv.Itoa(o.Start))
	}
	count := o.Count
	if count <= 0 {
		count = 15
	}
	if count > MaxCount {
		count = MaxCount
	}
	v.Set("count", strconv.Itoa(count))
	if o.Sort != "" {
		v.Set("sort", string(o.Sort))
	}
	if o.NSFW != "" {
		v.Set("nsfw", o.NSFW)
	}
	return v
}

// Config fetches /api/v1/config; it is how an instance proves it is PeerTube.
func (c *Client) Config(ctx context.Context) (Config, error) {
	var raw struct {
		Config
		ServerVersion *string         `json:"serverVersion"`
		Instance      json.RawMessage `json:"instance"`
	}
	if err := c.get(ctx, "/api/v1/config", nil, &raw); err != nil {
		return Config{}, err
	}
	if raw.ServerVersion == nil || len(raw.Instance) == 0 {
		return Config{}, fmt.Errorf("%s: %w (its /api/v1/config has no serverVersion)", c.Host(), ErrNotPeerTube)
	}
	cfg := raw.Config
	cfg.ServerVersion = *raw.ServerVersion
	if err := json.Unmarshal(raw.Instance, &cfg.Instance); err != nil {
		return Config{}, fmt.Errorf("%s: %w (bad instance block: %v)", c.Host(), ErrNotPeerTube, err)
	}
	return cfg, nil
}

// Videos lists the instance's catalog (GET /api/v1/videos).
func (c *Client) Videos(ctx context.Context, o ListOptions) (Page[Video], error) {
	return c.page(ctx, "/api/v1/videos", o.values())
}

// Search runs a full-text search (GET /api/v1/search/videos). On a search
// index (Sepia Search) it searches the whole indexed federation. An empty
// query omits the parameter (PeerTube and Sepia reject "search=" but list
// everything without it).
func (c *Client) Search(ctx context.Context, query string, o ListOptions) (Page[Video], error) {
	v := o.values()
	if query != "" {
		v.Set("search", query)
	}
	return c.page(ctx, "/api/v1/search/videos", v)
}

// ChannelVideos lists a channel's videos; name may be "chan" or "chan@host".
func (c *Client) ChannelVideos(ctx context.Context, name string, o ListOptions) (Page[Video], error) {
	return c.page(ctx, "/api/v1/video-channels/"+url.PathEscape(name)+"/videos", o.values())
}

// AccountVideos lists an account's videos; name may be "acct" or "acct@host".
func (c *Client) AccountVideos(ctx context.Context, name string, o ListOptions) (Page[Video], error) {
	return c.page(ctx, "/api/v1/accounts/"+url.PathEscape(name)+"/videos", o.values())
}

// Channel fetches a channel's profile.
func (c *Client) Channel(ctx context.Context, name string) (Channel, error) {
	var ch Channel
	if err := c.get(ctx, "/api/v1/video-channels/"+url.PathEscape(name), nil, &ch); err != nil {
		return Channel{}, err
	}
	if ch.Name == "" {
		return Channel{}, fmt.Errorf("%s: %w (channel without a name)", c.Host(), ErrNotPeerTube)
	}
	return ch, nil
}

// Video fetches one video's details, files included. id is a UUID, short
// UUID or numeric id.
func (c *Client) Video(ctx context.Context, id string) (VideoDetails, error) {
	var d VideoDetails
	if err := c.get(ctx, "/api/v1/videos/"+url.PathEscape(id), nil, &d); err != nil {
		return VideoDetails{}, err
	}
	if d.UUID == "" || d.Name == "" {
		return VideoDetails{}, fmt.Errorf("%s: %w (video without uuid or name)", c.Host(), ErrNotPeerTube)
	}
	return d, nil
}

// Description fetches a video's full description (the details' may be cut).
func (c *Client) Description(ctx context.Context, id string) (string, error) {
	var d struct {
		Description *string `json:"description"`
	}
	if err := c.get(ctx, "/api/v1/videos/"+url.PathEscape(id)+"/description", nil, &d); err != nil {
		return "", err
	}
	if d.Description == nil {
		return "", nil
	}
	return *d.Description, nil
}

func (c *Client) page(ctx context.Context, path string, q url.Values) (Page[Video], error) {
	var raw struct {
		Total *int               `json:"total"`
		Data  *[]json.RawMessage `json:"data"`
	}
	if err := c.get(ctx, path, q, &raw); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return Page[Video]{}, fmt.Errorf("%s%s: %w (no total/data list)", c.Host(), path, ErrNotPeerTube)
		}
		return Page[Video]{}, err
	}
	if raw.Total == nil || raw.Data == nil {
		return Page[Video]{}, fmt.Errorf("%s%s: %w (no total/data list)", c.Host(), path, ErrNotPeerTube)
	}
	p := Page[Video]{Total: *raw.Total, Data: make([]Video, 0, len(*raw.Data))}
	for _, it := range *raw.Data {
		var v Video
		// One odd item (a newer server's field types, a broken remote
		// video) must not cost the whole page: skip it.
		if err := json.Unmarshal(it, &v); err != nil || v.UUID == "" || v.Name == "" {
			continue
		}
		p.Data = append(p.Data, v)
	}
	return p, nil
}

// get performs GET path?q and decodes the JSON answer into out, retrying on
// 429 and 503 with backoff.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := *c.base
	u.Path = path
	u.RawQuery = q.Encode()
	target := u.String()
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		body, status, hdr, err := c.do(ctx, target)
		if err != nil {
			return err
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			if attempt >= c.opt.Retries {
				return &HTTPError{Status: status, URL: target, Detail: "rate limited; try again later"}
			}
			wait := retryAfter(hdr.Get("Retry-After"), time.Now())
			if wait <= 0 {
				wait = backoff + rand.N(backoff/2+1)
				backoff *= 2
			}
			wait = min(wait, c.opt.MaxBackoff)
			if err := c.sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		if status < 200 || status > 299 {
			return &HTTPError{Status: status, URL: target, Detail: errorDetail(body)}
		}
		if !isJSON(hdr.Get("Content-Type"), body) {
			return fmt.Errorf("%s: %w (it answered %s)", c.Host(), ErrNotPeerTube, describeType(hdr.Get("Content-Type")))
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s: malformed JSON from %s: %w", c.Host(), path, err)
		}
		return nil
	}
}

func (c *Client) do(ctx context.Context, target string) ([]byte, int, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opt.UserAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s unreachable: %w", c.Host(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opt.MaxBody+1))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: reading answer: %w", c.Host(), err)
	}
	if int64(len(body)) > c.opt.MaxBody {
		return nil, 0, nil, fmt.Errorf("%s: %w (over %d bytes)", c.Host(), ErrTooLarge, c.opt.MaxBody)
	}
	return body, resp.StatusCode, resp.Header, nil
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return t.Sub(now)
	}
	return 0
}

func isJSON(ct string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return false
	}
	b := bytes.TrimSpace(body)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

func describeType(ct string) string {
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "text/html":
		return "an HTML page"
	case mt == "":
		return "something that is not JSON"
	default:
		return mt
	}
}

func errorDetail(body []byte) string {
	var e struct {
		Detail string `json:"detail"`
		Error  string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Detail != "" {
			return e.Detail
		}
		return e.Error
	}
	return ""
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
