package account

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

type fake struct {
	name  string
	users map[string]string
	down  bool
	calls int
}

func (f *fake) Name() string { return f.name }

func (f *fake) Verify(ctx context.Context, user, password string) (Result, error) {
	f.calls++
	if f.down {
		return Result{}, fmt.Errorf("dial: refused: %w", ErrUnavailable)
	}
	if p, ok := f.users[user]; ok && p == password {
		return Result{Account: user, Source: f.name}, nil
	}
	return Result{}, fmt.Errorf("user %q: wrong password or unknown: %w", user, ErrInvalid)
}

func TestChain(t *testing.T) {
	file := &fake{name: "htpasswd", users: map[string]string{"lab": "x"}}
	dir := &fake{name: "ldap", users: map[string]string{"alice": "y", "lab": "z"}}
	c := Chain{file, dir}
	if got := c.Name(); got != "htpasswd+ldap" {
		t.Errorf("Name() = %q", got)
	}
	cases := []struct {
		user, pass string
		source     string // "" for failure
		err        error
	}{
		{"lab", "x", "htpasswd", nil},
		{"lab", "z", "ldap", nil}, // the file refuses, the directory accepts
		{"alice", "y", "ldap", nil},
		{"alice", "bad", "", ErrInvalid},
		{"nobody", "x", "", ErrInvalid},
	}
	for _, tc := range cases {
		res, err := c.Verify(context.Background(), tc.user, tc.pass)
		if tc.err != nil {
			if !errors.Is(err, tc.err) || errors.Is(err, ErrUnavailable) {
				t.Errorf("%s/%s: err = %v, want %v", tc.user, tc.pass, err, tc.err)
			}
			continue
		}
		if err != nil || res.Source != tc.source || res.Account != tc.user {
			t.Errorf("%s/%s: got %+v, %v; want source %s", tc.user, tc.pass, res, err, tc.source)
		}
	}
	dir.down = true
	if _, err := c.Verify(context.Background(), "alice", "y"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("directory down: err = %v, want ErrUnavailable", err)
	}
	if res, err := c.Verify(context.Background(), "lab", "x"); err != nil || res.Source != "htpasswd" {
		t.Errorf("directory down, file account: %+v, %v", res, err)
	}
	if _, err := (Chain{}).Verify(context.Background(), "a", "b"); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty chain: %v", err)
	}
}
