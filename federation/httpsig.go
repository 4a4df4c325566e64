package federation

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// HTTP Signatures (draft-cavage-http-signatures, as the fediverse uses them):
// rsa-sha256 over "(request-target) host date" for GETs and "… digest" for
// POSTs, with Digest: SHA-256=<base64> of the exact body.

// KeyBits is the RSA key size of Fourmi's actors (PeerTube's too).
const KeyBits = 2048

// MaxDateSkew is how far a signed request's Date may be from now. PeerTube
// allows ±1800 s; Fourmi is a little stricter.
const MaxDateSkew = 15 * time.Minute

// GenerateKey makes an actor's RSA key pair.
func GenerateKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, KeyBits) }

// PublicKeyPEM encodes a public key as SPKI PEM ("BEGIN PUBLIC KEY"), the
// form PeerTube and Mastodon publish in an actor's publicKeyPem.
func PublicKeyPEM(k *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePublicKeyPEM reads an SPKI ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC
// KEY") RSA public key.
func ParsePublicKeyPEM(s string) (*rsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if b == nil {
		return nil, errors.New("public key: no PEM block")
	}
	switch b.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key: %T is not RSA", k)
		}
		return rk, nil
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(b.Bytes)
	}
	return nil, fmt.Errorf("public key: unexpected PEM type %q", b.Type)
}

// PrivateKeyPEM encodes a private key as PKCS#8 PEM for storage.
func PrivateKeyPEM(k *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ParsePrivateKeyPEM reads a PKCS#8 or PKCS#1 RSA private key.
func ParsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if b == nil {
		return nil, errors.New("private key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: %T is not RSA", k)
	}
	return rk, nil
}

// Signer signs outgoing requests as one actor.
type Signer struct {
	KeyID string // the actor's key id, e.g. https://host/accounts/name#main-key
	Key   *rsa.PrivateKey
	Now   func() time.Time // default time.Now
}

// Sign sets Date, Host, Digest (when body is not nil) and Signature on r.
// Call it on every attempt: a retry needs a fresh Date.
func (s Signer) Sign(r *http.Request, body []byte) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	r.Header.Set("Date", now().UTC().Format(http.TimeFormat))
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	r.Header.Set("Host", host)
	r.Header.Del("Digest")
	headers := []string{httpsig.RequestTarget, "host", "date"}
	if body != nil {
		headers = append(headers, "digest")
	}
	sg, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return err
	}
	// go-fed writes "(request-target)" from the decoded path; sign the path
	// exactly as it goes on the wire.
	rr := *r
	u := *r.URL
	u.Path = r.URL.EscapedPath()
	u.RawPath = ""
	rr.URL = &u
	if err := sg.SignRequest(s.Key, s.KeyID, &rr, body); err != nil {
		return fmt.Errorf("signing request: %w", err)
	}
	// go-fed labels the signature "hs2019"; PeerTube and Mastodon expect the
	// explicit name. The label is not part of the signed string.
	r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), `algorithm="hs2019"`, `algorithm="rsa-sha256"`, 1))
	return nil
}

// SignatureError is a request whose signature is missing or wrong. Status
// is the HTTP status the inbox answers with.
type SignatureError struct {
	Status int
	Reason string
}

func (e *SignatureError) Error() string { return "http signature: " + e.Reason }

func sigErr(status int, format string, args ...any) error {
	return &SignatureError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// KeyLookup returns the public key behind keyID and the actor owning it.
// refresh asks to bypass any cache (the key may have been rotated).
type KeyLookup func(ctx context.Context, keyID string, refresh bool) (key *rsa.PublicKey, owner string, err error)

// Verifier checks signed requests.
type Verifier struct {
	Keys KeyLookup
	Now  func() time.Time // default time.Now
	// MaxSkew bounds |Date − now|; 0 means MaxDateSkew.
	MaxSkew time.Duration
}

// Verified says who signed a request.
type Verified struct {
	KeyID string
	Owner string // the actor the key belongs to: compare with activity.actor
}

// Verify checks r's signature. body is the request body already read (nil
// for GET). It requires (request-target), host and date to be signed, the
// Date to be fresh, and for a body a signed Digest equal to its SHA-256. A
// key that fails is re-fetched once before giving up.
func (v Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Verified, error) {
	ps, err := parseSignature(r, body != nil)
	if err != nil {
		return Verified{}, err
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = MaxDateSkew
	}
	if err := checkDate(r.Header.Get("Date"), now(), skew); err != nil {
		return Verified{}, err
	}
	if body != nil {
		if err := checkDigest(r.Header.Get("Digest"), body); err != nil {
			return Verified{}, err
		}
	}
	if v.Keys == nil {
		return Verified{}, errors.New("http signature: no key lookup configured")
	}
	for _, refresh := range []bool{false, true} {
		key, owner, err := v.Keys(ctx, ps.keyID, refresh)
		if err != nil {
			return Verified{}, sigErr(http.StatusUnauthorized, "key %s: %v", ps.keyID, err)
		}
		if err := ps.verify(key); err == nil {
			return Verified{KeyID: ps.keyID, Owner: owner}, nil
		}
	}
	return Verified{}, sigErr(http.StatusUnauthorized, "signature does not verify with key %s", ps.keyID)
}

type parsedSignature struct {
	keyID    string
	verifier httpsig.Verifier
}

func (p parsedSignature) verify(k *rsa.PublicKey) error {
	return p.verifier.Verify(k, httpsig.RSA_SHA256)
}

// parseSignature reads the Signature header and enforces which headers must
// be covered.
func parseSignature(r *http.Request, hasBody bool) (parsedSignature, error) {
	raw := r.Header.Get("Signature")
	if raw == "" {
		return parsedSignature{}, sigErr(http.StatusUnauthorized, "request is not signed")
	}
	params := map[string]string{}
	for _, p := range strings.Split(raw, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return parsedSignature{}, sigErr(http.StatusBadRequest, "malformed Signature header")
		}
		params[strings.ToLower(k)] = strings.Trim(val, `"`)
	}
	if alg := strings.ToLower(params["algorithm"]); alg != "" && alg != "rsa-sha256" && alg != "hs2019" {
		return parsedSignature{}, sigErr(http.StatusBadRequest, "unsupported algorithm %q", alg)
	}
	if params["keyid"] == "" || params["signature"] == "" {
		return parsedSignature{}, sigErr(http.StatusBadRequest, "Signature header without keyId or signature")
	}
	signed := strings.Fields(strings.ToLower(params["headers"]))
	if len(signed) == 0 {
		signed = []string{"date"}
	}
	need := []string{"(request-target)", "host", "date"}
	if hasBody {
		need = append(need, "digest")
	}
	for _, h := range need {
		if !slices.Contains(signed, h) {
			return parsedSignature{}, sigErr(http.StatusUnauthorized, "%s is not covered by the signature", h)
		}
	}
	// go-fed reads the headers it verifies from a copy: the Host header is
	// not in r.Header on the server side, and the request target must be
	// the path as it came on the wire.
	rr := *r
	rr.Header = r.Header.Clone()
	if r.Host != "" {
		rr.Header.Set("Host", r.Host) // the host it was really sent to
	}
	u := *r.URL
	u.Path = r.URL.EscapedPath()
	u.RawPath = ""
	rr.URL = &u
	ver, err := httpsig.NewVerifier(&rr)
	if err != nil {
		return parsedSignature{}, sigErr(http.StatusBadRequest, "%v", err)
	}
	return parsedSignature{keyID: ver.KeyId(), verifier: ver}, nil
}

func checkDate(h string, now time.Time, skew time.Duration) error {
	if h == "" {
		return sigErr(http.StatusUnauthorized, "no Date header")
	}
	d, err := http.ParseTime(h)
	if err != nil {
		return sigErr(http.StatusBadRequest, "bad Date header %q", h)
	}
	if diff := now.Sub(d); diff > skew || diff < -skew {
		return sigErr(http.StatusUnauthorized, "Date %s is %s away from now (replayed or wrong clock)", h, diff.Round(time.Second))
	}
	return nil
}

// checkDigest compares a Digest header (which may list several algorithms)
// with the SHA-256 of body.
func checkDigest(h string, body []byte) error {
	if h == "" {
		return sigErr(http.StatusUnauthorized, "no Digest header for a request with a body")
	}
	sum := sha256.Sum256(body)
	want := base64.StdEncoding.EncodeToString(sum[:])
	for _, part := range strings.Split(h, ",") {
		alg, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(alg, "SHA-256") {
			if subtle.ConstantTimeCompare([]byte(val), []byte(want)) == 1 {
				return nil
			}
			return sigErr(http.StatusUnauthorized, "Digest does not match the body")
		}
	}
	return sigErr(http.StatusUnauthorized, "no SHA-256 Digest")
}

// KeyOwner strips the fragment of a keyId: PeerTube signs GETs with the bare
// actor URL, others with ACTOR#main-key.
func KeyOwner(keyID string) string {
	u, err := url.Parse(keyID)
	if err != nil {
		return keyID
	}
	u.Fragment = ""
	return u.String()
}
