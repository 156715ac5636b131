package ldap

import (
	"context"
	"testing"

	"github.com/duws/duws/responder/ldap/ldaptest"
)

// BenchmarkVerify measures verifications against the test slapd over
// LDAPS, one account over and over, from as many goroutines as
// GOMAXPROCS (times -cpu): a search and a bind on pooled connections
// each. responder/ldap/bench/bench.sh measures whole outside checks.
func BenchmarkVerify(b *testing.B) {
	d := ldaptest.Start(b)
	s, err := New(testConfig(d, SchemaOpenLDAP))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Verify(context.Background(), "alice", "alice-pw"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
