package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The signed ActivityPub client: GETs with content negotiation and an HTTP
// signature, POSTs to inboxes with Digest and signature, WebFinger, and
// lazy collection paging. Signing happens in the transport, on every
// attempt, so a redirect or a retry carries a fresh Date and Signature.
// Every answer is capped in size, and by default the dialer refuses
// private and loopback addresses (see NewHTTPClient).

// Errors of the client. HTTP statuses come as *HTTPError, which matches
// ErrNotFound (404) and ErrGone (410) with errors.Is.
var (
	ErrNotActivityPub   = errors.New("not an ActivityPub answer")
	ErrNotFound         = errors.New("not found")
	ErrGone             = errors.New("gone")
	ErrResponseTooLarge = errors.New("response too large")
	ErrTooManyPages     = errors.New("collection has too many pages")
	ErrNoSigner         = errors.New("no signer: inbox deliveries must be signed")
)

// HTTPError is a non-success answer. The delivery queue reads Status and
// RetryAfter to decide when (and whether) to retry.
type HTTPError struct {
	Method     string
	URL        string
	Status     int
	RetryAfter time.Duration // from Retry-After; 0 when absent
	Body       string        // the start of the answer, for the log
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Is matches ErrNotFound for 404 and ErrGone for 410.
func (e *HTTPError) Is(target error) bool {
	return (target == ErrNotFound && e.Status == http.StatusNotFound) ||
		(target == ErrGone && e.Status == http.StatusGone)
}

// Temporary reports a status worth retrying later: 408, 425, 429 and 5xx.
func (e *HTTPError) Temporary() bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return e.Status >= 500
}

// ClientOptions configure a Client. The zero value is an unsigned client
// that refuses private addresses.
type ClientOptions struct {
	// HTTP is the underlying client; default NewHTTPClient(AllowPrivate,
	// Timeout). Its transport is wrapped to sign requests.
	HTTP *http.Client
	// Signer signs GETs and POSTs; nil sends unsigned GETs (and refuses to
	// POST).
	Signer *Signer
	// MaxBody caps every answer; default 1 MiB.
	MaxBody int64
	// UserAgent; default "Fourmi (+https://github.com/fourmi-app/fourmi)".
	UserAgent string
	// AllowPrivate lets the default HTTP client reach private and loopback
	// addresses (tests, LAN instances), and lets WebFinger use plain http
	// for a loopback host.
	AllowPrivate bool
	// Timeout of the default HTTP client; default 15 s.
	Timeout time.Duration
	// MaxPages bounds GetCollection; default 200.
	MaxPages int
	// Validate tunes GetActor and GetVideo (Origin is set per request).
	Validate ValidateOptions
}

// Client is an ActivityPub client. It is safe for concurrent use.
type Client struct {
	http         *http.Client
	signer       *Signer
	maxBody      int64
	userAgent    string
	allowPrivate bool
	maxPages     int
	validate     ValidateOptions
}

// NewClient builds a client; it starts nothing.
func NewClient(o ClientOptions) *Client {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.UserAgent == "" {
		o.UserAgent = "Fourmi (+https://github.com/fourmi-app/fourmi)"
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 200
	}
	base := o.HTTP
	if base == nil {
		base = NewHTTPClient(o.AllowPrivate, o.Timeout)
	}
	hc := *base
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc.Transport = &signingTransport{base: rt}
	return &Client{
		http:         &hc,
		signer:       o.Signer,
		maxBody:      o.MaxBody,
		userAgent:    o.UserAgent,
		allowPrivate: o.AllowPrivate,
		maxPages:     o.MaxPages,
		validate:     o.Validate,
	}
}

// WithSigner is a client sharing c's connections that signs as s (the
// server signs as the actor of each activity it sends).
func (c *Client) WithSigner(s *Signer) *Client {
	cc := *c
	cc.signer = s
	return &cc
}

// signingTransport signs each request carrying a signer in its context.
type signingTransport struct{ base http.RoundTripper }

type signerKey struct{}

func (t *signingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s, _ := req.Context().Value(signerKey{}).(*Signer)
	if s == nil {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		req.Body.Close()
		if req.GetBody == nil {
			return nil, errors.New("signing: request body cannot be re-read")
		}
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		body, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	if err := s.Sign(r, body); err != nil {
		return nil, err
	}
	return t.base.RoundTrip(r)
}

// send performs one request; signed when signer is not nil.
func (c *Client) send(ctx context.Context, signer *Signer, method, target, accept string, body []byte) (*http.Response, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: not an http(s) URL", method, target)
	}
	if signer != nil {
		ctx = context.WithValue(ctx, signerKey{}, signer)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", MediaTypeActivityJSON)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	return resp, nil
}

// readCapped reads at most max bytes of the body.
func (c *Client) readCapped(resp *http.Response, target string) ([]byte, error) {
	if resp.ContentLength > c.maxBody {
		return nil, fmt.Errorf("%w: %s announces %d bytes (cap %d)", ErrResponseTooLarge, target, resp.ContentLength, c.maxBody)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	if int64(len(b)) > c.maxBody {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrResponseTooLarge, target, c.maxBody)
	}
	return b, nil
}

// httpError builds the error of a non-2xx answer.
func httpError(method, target string, resp *http.Response) error {
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	e := &HTTPError{Method: method, URL: target, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if s := strings.TrimSpace(string(snippet)); s != "" && !looksLikeHTML(resp.Header.Get("Content-Type"), snippet) {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Body = s
	}
	return e
}

// retryAfter parses Retry-After: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func looksLikeHTML(ct string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '<'
}

// isJSONMediaType accepts the JSON types servers answer AP requests with.
func isJSONMediaType(ct string) bool {
	if ct == "" {
		return true // sniffed below
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case MediaTypeActivityJSON, "application/ld+json", "application/json", MediaTypeJRD:
		return true
	}
	return false
}

// Get fetches an ActivityPub object (signed when the client has a signer)
// and returns its JSON. HTML, a non-JSON type, JSON that is not an object
// with a type or id give ErrNotActivityPub; 404 and 410 give an *HTTPError
// matching ErrNotFound and ErrGone; 429 an *HTTPError with RetryAfter.
func (c *Client) Get(ctx context.Context, iri string) (json.RawMessage, error) {
	b, err := c.getJSON(ctx, c.signer, iri, AcceptActivityPub)
	if err != nil {
		return nil, err
	}
	var head struct {
		ID   json.RawMessage `json:"id"`
		Type json.RawMessage `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil || (len(head.ID) == 0 && len(head.Type) == 0) {
		return nil, fmt.Errorf("%w: %s answered JSON without id or type", ErrNotActivityPub, iri)
	}
	return b, nil
}

// getJSON fetches a JSON object.
func (c *Client) getJSON(ctx context.Context, signer *Signer, target, accept string) ([]byte, error) {
	resp, err := c.send(ctx, signer, http.MethodGet, target, accept, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, httpError(http.MethodGet, target, resp)
	}
	ct := resp.Header.Get("Content-Type")
	b, err := c.readCapped(resp, target)
	if err != nil {
		return nil, err
	}
	if looksLikeHTML(ct, b) {
		return nil, fmt.Errorf("%w: %s answered HTML (a web page, not an object)", ErrNotActivityPub, target)
	}
	if !isJSONMediaType(ct) {
		return nil, fmt.Errorf("%w: %s answered %q", ErrNotActivityPub, target, ct)
	}
	if err := isJSONObject(b); err != nil || !json.Valid(b) {
		return nil, fmt.Errorf("%w: %s answered something that is not a JSON object", ErrNotActivityPub, target)
	}
	return b, nil
}

// GetActor fetches and validates an actor (its id must be on the host of
// iri). A key id (ACTOR#main-key) fetches the actor.
func (c *Client) GetActor(ctx context.Context, iri string) (*Actor, error) {
	iri = KeyOwner(iri)
	raw, err := c.Get(ctx, iri)
	if err != nil {
		return nil, err
	}
	opt := c.validate
	opt.Origin = iri
	return ParseActor(raw, opt)
}

// GetVideo fetches a Video and validates it with PeerTube's rules
// (ValidateVideo); its id must be on the host of iri.
func (c *Client) GetVideo(ctx context.Context, iri string) (*Video, error) {
	raw, err := c.Get(ctx, iri)
	if err != nil {
		return nil, err
	}
	opt := c.validate
	opt.Origin = iri
	return ParseVideo(raw, opt)
}

// GetCollection iterates over a collection's items (IRIs or embedded
// objects), fetching pages lazily: inline items first, then first, then
// each next. Pages must stay on the collection's host; a page seen twice,
// or more than MaxPages pages, ends the iteration with an error.
func (c *Client) GetCollection(ctx context.Context, iri string) iter.Seq2[ObjectOrIRI, error] {
	return func(yield func(ObjectOrIRI, error) bool) {
		raw, err := c.Get(ctx, iri)
		if err != nil {
			yield(ObjectOrIRI{}, err)
			return
		}
		var col OrderedCollection
		var page OrderedCollectionPage
		if err := json.Unmarshal(raw, &col); err != nil {
			yield(ObjectOrIRI{}, fmt.Errorf("collection %s: %w", iri, err))
			return
		}
		var next ObjectOrIRI
		switch col.Type {
		case TypeOrderedCollection, TypeCollection:
			items := col.OrderedItems
			if len(items) == 0 {
				items = col.Items
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			next = col.First
		case TypeOrderedCollectionPage, TypeCollectionPage:
			next = ObjectOrIRI{IRI: iri, Raw: raw}
		default:
			yield(ObjectOrIRI{}, fmt.Errorf("%w: %s is a %q, not a collection", ErrNotActivityPub, iri, col.Type))
			return
		}
		seen := map[string]bool{}
		for pages := 0; !next.IsZero(); pages++ {
			if pages >= c.maxPages {
				yield(ObjectOrIRI{}, fmt.Errorf("%w: %s goes past %d pages", ErrTooManyPages, iri, c.maxPages))
				return
			}
			if next.IRI != "" {
				if seen[next.IRI] {
					yield(ObjectOrIRI{}, fmt.Errorf("collection %s: page %s comes back (a loop)", iri, next.IRI))
					return
				}
				seen[next.IRI] = true
				if !SameHost(next.IRI, iri) {
					yield(ObjectOrIRI{}, fmt.Errorf("collection %s: page %s is on another host", iri, next.IRI))
					return
				}
			}
			body := next.Raw
			if body == nil {
				if body, err = c.Get(ctx, next.IRI); err != nil {
					yield(ObjectOrIRI{}, err)
					return
				}
			}
			page = OrderedCollectionPage{}
			if err := json.Unmarshal(body, &page); err != nil {
				yield(ObjectOrIRI{}, fmt.Errorf("collection page %s: %w", next.IRI, err))
				return
			}
			for _, it := range page.all() {
				if !yield(it, nil) {
					return
				}
			}
			next = Ref(page.Next)
		}
	}
}

// LookupWebFinger fetches the JRD of a handle ("acct:user@host",
// "user@host" or "@user@host") from https://host/.well-known/webfinger
// (plain http for a loopback host when AllowPrivate). Unsigned, as
// PeerTube does it.
func (c *Client) LookupWebFinger(ctx context.Context, handle string) (*JRD, error) {
	user, host, err := ParseHandle(handle)
	if err != nil {
		return nil, err
	}
	b, err := c.getJSON(ctx, nil, WebFingerURL(c.schemeFor(host), user, host), webFingerAcceptHeader)
	if err != nil {
		return nil, fmt.Errorf("webfinger %s: %w", handle, err)
	}
	return ParseJRD(b)
}

// WebFinger resolves a handle to its actor IRI.
func (c *Client) WebFinger(ctx context.Context, handle string) (string, error) {
	j, err := c.LookupWebFinger(ctx, handle)
	if err != nil {
		return "", err
	}
	return j.ActorIRI()
}

// InstanceActor finds the actor to follow to follow a whole instance, as
// PeerTube does: the activitystreams#Application link of
// /.well-known/nodeinfo, else WebFinger acct:peertube@host.
func (c *Client) InstanceActor(ctx context.Context, host string) (string, error) {
	if _, _, err := ParseHandle("x@" + host); err != nil {
		return "", fmt.Errorf("instance %q: bad host", host)
	}
	b, err := c.getJSON(ctx, nil, c.schemeFor(host)+"://"+host+NodeInfoWellKnownPath, "application/json")
	if err == nil {
		if links, err := ParseNodeInfoLinks(b); err == nil {
			if href, ok := links.Find(RelInstanceActor); ok {
				return href, nil
			}
		}
	}
	return c.WebFinger(ctx, "peertube@"+host)
}

// schemeFor is https, or http for a loopback host when private addresses
// are allowed (tests).
func (c *Client) schemeFor(host string) string {
	if !c.allowPrivate {
		return "https"
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return "http"
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return "http"
	}
	return "https"
}

// Post delivers an activity to an inbox, signed with Digest. activity is
// marshalled unless it is already JSON ([]byte or json.RawMessage). Any 2xx
// is success (PeerTube answers 204); anything else is an *HTTPError
// carrying the status and Retry-After for the delivery queue.
func (c *Client) Post(ctx context.Context, inbox string, activity any) error {
	if c.signer == nil {
		return ErrNoSigner
	}
	var body []byte
	switch a := activity.(type) {
	case []byte:
		body = a
	case json.RawMessage:
		body = a
	default:
		b, err := json.Marshal(activity)
		if err != nil {
			return fmt.Errorf("POST %s: %w", inbox, err)
		}
		body = b
	}
	resp, err := c.send(ctx, c.signer, http.MethodPost, inbox, AcceptActivityPub, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return httpError(http.MethodPost, inbox, resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return nil
}
