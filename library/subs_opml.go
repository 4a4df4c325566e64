package library

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Import and export of subscriptions: OPML (feed readers; each outline
// carries the PeerTube RSS feed as xmlUrl and the actor as htmlUrl) and
// PeerTube's own user export (following.json: {"following": [{handle,
// targetHandle, createdAt}]}). Import also takes a JSON list of handles.

// Export formats.
const (
	FormatOPML     = "opml"
	FormatPeerTube = "peertube" // PeerTube's user export following.json
)

// maxImportBytes bounds what ImportSubscriptions reads.
const maxImportBytes = 4 << 20

// opmlDoc is an OPML document (outlines may nest).
type opmlDoc struct {
	XMLName xml.Name `xml:"opml"`
	Version string   `xml:"version,attr"`
	Head    struct {
		Title       string `xml:"title"`
		DateCreated string `xml:"dateCreated,omitempty"`
	} `xml:"head"`
	Body struct {
		Outlines []opmlOutline `xml:"outline"`
	} `xml:"body"`
}

type opmlOutline struct {
	Text     string        `xml:"text,attr"`
	Title    string        `xml:"title,attr,omitempty"`
	Type     string        `xml:"type,attr,omitempty"`
	XMLURL   string        `xml:"xmlUrl,attr,omitempty"`
	HTMLURL  string        `xml:"htmlUrl,attr,omitempty"`
	URL      string        `xml:"url,attr,omitempty"`
	Outlines []opmlOutline `xml:"outline"`
}

// peertubeFollowing is PeerTube's following.json.
type peertubeFollowing struct {
	Following []struct {
		Handle       string `json:"handle"`
		TargetHandle string `json:"targetHandle"`
		CreatedAt    string `json:"createdAt"`
	} `json:"following"`
}

// ExportSubscriptions writes the subscriptions as format (FormatOPML or
// FormatPeerTube).
func (l *Library) ExportSubscriptions(ctx context.Context, w io.Writer, format string) error {
	subs, err := l.Subscriptions(ctx)
	if err != nil {
		return err
	}
	switch format {
	case FormatOPML, "":
		var d opmlDoc
		d.Version = "2.0"
		d.Head.Title = "Fourmi subscriptions"
		d.Head.DateCreated = l.now().UTC().Format(time.RFC1123Z)
		for _, s := range subs {
			title := s.DisplayName
			if title == "" {
				title = s.Handle()
			}
			feed := s.FeedURL
			if feed == "" {
				feed = s.Actor
			}
			d.Body.Outlines = append(d.Body.Outlines, opmlOutline{Text: title, Title: title, Type: "rss", XMLURL: feed, HTMLURL: s.Actor})
		}
		if _, err := io.WriteString(w, xml.Header); err != nil {
			return err
		}
		enc := xml.NewEncoder(w)
		enc.Indent("", "  ")
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("library: writing OPML: %w", err)
		}
		_, err = io.WriteString(w, "\n")
		return err
	case FormatPeerTube:
		me := "fourmi"
		if in, err := l.hostStore().Instance(ctx); err == nil {
			if u, err := url.Parse(in.BaseURL); err == nil {
				me = in.AccountName + "@" + u.Host
			}
		}
		var out peertubeFollowing
		out.Following = make([]struct {
			Handle       string `json:"handle"`
			TargetHandle string `json:"targetHandle"`
			CreatedAt    string `json:"createdAt"`
		}, len(subs))
		for i, s := range subs {
			out.Following[i].Handle = me
			out.Following[i].TargetHandle = s.Handle()
			out.Following[i].CreatedAt = s.Created.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return fmt.Errorf("library: unknown export format %q (opml or peertube)", format)
}

// ImportFailure is an entry of an import that could not be followed.
type ImportFailure struct {
	Entry string
	Err   error
}

// ImportResult is what ImportSubscriptions did.
type ImportResult struct {
	Added  []Subscription
	Failed []ImportFailure
}

// ImportSubscriptions follows every channel or account of an OPML file,
// PeerTube's following.json or a JSON list of handles. A file that cannot
// be read as any of them is an error and nothing is followed; entries that
// do not resolve are listed in Failed while the others are followed.
func (l *Library) ImportSubscriptions(ctx context.Context, r io.Reader) (ImportResult, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	if err != nil {
		return ImportResult{}, fmt.Errorf("library: reading the import: %w", err)
	}
	if len(b) > maxImportBytes {
		return ImportResult{}, fmt.Errorf("library: the import file is larger than %d MiB", maxImportBytes>>20)
	}
	entries, err := parseImport(b)
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	for _, e := range entries {
		s, err := l.Subscribe(ctx, e)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Failed = append(res.Failed, ImportFailure{Entry: e, Err: err})
			continue
		}
		res.Added = append(res.Added, s)
	}
	return res, nil
}

// parseImport reads the entries (handles or URLs) of an import file.
func parseImport(b []byte) ([]string, error) {
	t := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if len(t) == 0 {
		return nil, errors.New("library: the import file is empty")
	}
	var entries []string
	switch t[0] {
	case '<':
		var d opmlDoc
		dec := xml.NewDecoder(bufio.NewReader(bytes.NewReader(t)))
		dec.Strict = true
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("library: not a readable OPML file: %w", err)
		}
		var walk func([]opmlOutline)
		walk = func(os []opmlOutline) {
			for _, o := range os {
				if e := outlineTarget(o); e != "" {
					entries = append(entries, e)
				}
				walk(o.Outlines)
			}
		}
		walk(d.Body.Outlines)
	case '{':
		var f peertubeFollowing
		if err := json.Unmarshal(t, &f); err != nil {
			return nil, fmt.Errorf("library: not PeerTube's following.json: %w", err)
		}
		if f.Following == nil {
			return nil, errors.New(`library: not PeerTube's following.json (no "following" list)`)
		}
		for _, e := range f.Following {
			if h := strings.TrimSpace(e.TargetHandle); h != "" {
				entries = append(entries, h)
			}
		}
	case '[':
		var hs []string
		if err := json.Unmarshal(t, &hs); err != nil {
			return nil, fmt.Errorf("library: not a JSON list of handles: %w", err)
		}
		for _, h := range hs {
			if h = strings.TrimSpace(h); h != "" {
				entries = append(entries, h)
			}
		}
	default:
		return nil, errors.New("library: the import file is neither OPML nor JSON (PeerTube's following.json or a list of handles)")
	}
	if len(entries) == 0 {
		return nil, errors.New("library: the import file names no channel or account")
	}
	seen := map[string]bool{}
	out := entries[:0]
	for _, e := range entries {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// outlineTarget is the channel or account an outline names: a channel or
// account URL among its URLs, else "" (a feed of something else).
func outlineTarget(o opmlOutline) string {
	for _, u := range []string{o.HTMLURL, o.XMLURL, o.URL} {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if _, err := parseSubTarget(u); err == nil {
			return u
		}
	}
	return ""
}
