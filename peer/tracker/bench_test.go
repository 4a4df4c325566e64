package tracker

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkAnnounce measures one HTTP announce through the real handler
// (query parsing, swarm update, peer selection, bencoding) in a swarm of
// 1000 peers, 50 returned.
func BenchmarkAnnounce(b *testing.B) {
	tr, err := New(Config{Known: func(ih [20]byte) bool { return ih == ihA }, Logger: testLogger(), RequestsPerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	h := tr.Handler()
	do := func(remote, target string) {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
	for i := range 1000 {
		do(fmt.Sprintf("10.%d.%d.1:1000", i/250, i%250), "/tracker/announce?"+params(ihA, fmt.Sprint("p", i), 6881, int64(i%2)).Encode())
	}
	target := "/tracker/announce?" + params(ihA, "bench", 6881, 100).Encode()
	b.ReportAllocs()
	for b.Loop() {
		do("192.0.2.1:1000", target)
	}
}
