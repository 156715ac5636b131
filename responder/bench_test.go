package responder_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/duws/duws/responder"
)

// BenchmarkCheck measures what the responder adds to net/http for one
// check: reading, parsing, classifying, looking up and writing the answer.
func BenchmarkCheck(b *testing.B) {
	f := newFixture(b)
	r, err := responder.New(responder.Config{Site: f.site, Audit: func(responder.Event) {}})
	if err != nil {
		b.Fatal(err)
	}
	h := r.Handler(responder.Internal)
	body := checkBody("00-04-F2-99-99-99", "sip:bob@contoso.com", "4.0.7577.4100")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest("POST", "/RequestHandler/ucdevice.upx", strings.NewReader(body))
		req.RemoteAddr = "10.1.2.3:5555"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
