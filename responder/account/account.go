// Package account is how the responder verifies the credentials an
// outside request carries: a [Source] is one place accounts live (an
// htpasswd file, an LDAP directory), and a [Chain] asks several in order.
//
// A source says one of three things: the credentials are valid (and
// whose account they name), they are not ([ErrInvalid], whatever the
// reason: unknown user, wrong password, disabled, not in the required
// group), or it cannot tell now ([ErrUnavailable]: the directory is down
// or slow). The reason behind ErrInvalid is for the log only; clients
// must not be able to tell reasons apart.
//
// Sources do no caching and no rate limiting: the responder does both,
// once, for every source.
package account

import (
	"context"
	"errors"
	"fmt"
)

var (
	// ErrInvalid means the credentials name no valid account. Sources
	// wrap it with the reason, for the log.
	ErrInvalid = errors.New("invalid credentials")
	// ErrUnavailable means the source could not decide (unreachable,
	// timed out). Sources wrap it with the cause.
	ErrUnavailable = errors.New("account source unavailable")
)

// Result is a successful verification.
type Result struct {
	// Account is the account the credentials verified, as the source
	// names it (for a directory, its canonical user name).
	Account string
	// Source is the Name of the source that verified it.
	Source string
}

// A Source verifies user names and passwords.
type Source interface {
	// Name names the source in logs and the audit log, e.g. "htpasswd"
	// or "ldap".
	Name() string
	// Verify checks password for user. It returns an error wrapping
	// ErrInvalid or ErrUnavailable when it does not return a Result.
	// It must honour ctx's deadline.
	Verify(ctx context.Context, user, password string) (Result, error)
}

// Chain asks its sources in order; the first that accepts the
// credentials wins. It is itself a Source.
type Chain []Source

// Name lists the sources, e.g. "htpasswd+ldap".
func (c Chain) Name() string {
	s := ""
	for i, src := range c {
		if i > 0 {
			s += "+"
		}
		s += src.Name()
	}
	return s
}

// Verify returns the first source's success. When none accepts, it
// returns ErrUnavailable if any source was unavailable (the account may
// exist there, so the client should retry), else ErrInvalid with every
// source's reason.
func (c Chain) Verify(ctx context.Context, user, password string) (Result, error) {
	if len(c) == 0 {
		return Result{}, fmt.Errorf("no account source: %w", ErrInvalid)
	}
	var invalid, unavailable []error
	for _, src := range c {
		res, err := src.Verify(ctx, user, password)
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, ErrUnavailable):
			unavailable = append(unavailable, fmt.Errorf("%s: %w", src.Name(), err))
		default:
			invalid = append(invalid, fmt.Errorf("%s: %w", src.Name(), err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if len(unavailable) > 0 {
		return Result{}, errors.Join(append(unavailable, invalid...)...)
	}
	return Result{}, errors.Join(invalid...)
}
