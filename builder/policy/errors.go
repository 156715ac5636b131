package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// An Error is one problem in a policy file, located by line and column
// (both counted from 1, columns in characters as YAML counts them) and by
// the path of the offending element, such as rules[2].approved.
type Error struct {
	File string
	Line int
	Col  int
	Path string // empty for problems with the document as a whole
	Msg  string
}

// Error formats e as FILE:LINE:COL: PATH: MSG, leaving out PATH when empty.
func (e Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Col, e.Path, e.Msg)
}

// Errors is every problem found in one policy file, sorted by position.
// [Parse] and [Policy.CheckVersions] return a non-empty *Errors or nil.
type Errors struct {
	List []Error
}

// Error returns one line per problem.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, err := range e.List {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual problems, so that [errors.As] can find an
// [Error].
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, err := range e.List {
		errs[i] = err
	}
	return errs
}

// sorted returns nil for an empty list, so callers can return it directly.
func sorted(list []Error) error {
	if len(list) == 0 {
		return nil
	}
	slices.SortStableFunc(list, func(a, b Error) int {
		return cmp.Or(
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	list = slices.Compact(list)
	return &Errors{List: list}
}
