package audit

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

var (
	// ErrHeader means a file does not start with an audit log header row:
	// it is not an audit log, or not one this package can read.
	ErrHeader = errors.New("audit: not an audit log")

	// ErrRow means a row of an audit log cannot be read as a record. It
	// comes wrapped in a [*RowError] saying where; reading may go on.
	ErrRow = errors.New("audit: malformed row")
)

// A RowError reports a row that cannot be read as a record.
type RowError struct {
	Line int   // where the row starts, counting from 1
	Err  error // what is wrong with it
}

func (e *RowError) Error() string { return fmt.Sprintf("audit: line %d: %v", e.Line, e.Err) }

// Unwrap returns [ErrRow] and the cause, for [errors.Is].
func (e *RowError) Unwrap() []error { return []error{ErrRow, e.Err} }

// headerError is an error of the header row; it wraps [ErrHeader].
type headerError struct {
	line int
	err  error
}

func (e *headerError) Error() string {
	return fmt.Sprintf("audit: line %d: %v: not an audit log", e.line, e.err)
}

func (e *headerError) Unwrap() []error { return []error{ErrHeader, e.err} }

// A Reader reads records from one audit log file.
type Reader struct {
	csv *csv.Reader
	// col[c] is where column c is in a row; width is how many fields a
	// row has. Both come from the header row.
	col    [numColumns]int
	width  int
	header []string
	err    error // sticky: a bad header or a read error
}

// NewReader returns a Reader of the audit log in r. The header row is read
// by the first call to [Reader.Read].
func NewReader(r io.Reader) *Reader {
	c := csv.NewReader(r)
	c.FieldsPerRecord = -1 // checked here, to report and go on
	return &Reader{csv: c}
}

// Read returns the next record, with its time in UTC, or io.EOF after the
// last. An empty file has no records.
//
// A row that cannot be a record (wrong number of fields, a time that is not
// RFC 3339, broken CSV quoting) gives a [*RowError] and may be skipped by
// calling Read again. A file that does not start with a header row naming
// every column gives an error wrapping [ErrHeader]; so does every later
// call. Columns are found by name, in any order, and unknown columns are
// ignored, so files of other versions with the same column names are read.
func (r *Reader) Read() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	if r.header == nil {
		if err := r.readHeader(); err != nil {
			r.err = err
			return Record{}, err
		}
	}
	for {
		row, err := r.csv.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				where := fmt.Sprintf("column %d", pe.Column)
				if pe.Line != pe.StartLine {
					where = fmt.Sprintf("line %d, column %d", pe.Line, pe.Column)
				}
				return Record{}, &RowError{Line: pe.StartLine, Err: fmt.Errorf("%s: %w", where, pe.Err)}
			}
			if err != io.EOF {
				r.err = err
			}
			return Record{}, err
		}
		line, _ := r.csv.FieldPos(0)
		if len(row) != r.width {
			return Record{}, &RowError{Line: line, Err: fmt.Errorf("%s, want %d", plural(len(row), "field"), r.width)}
		}
		if isHeader(row, r.header) {
			continue
		}
		return r.record(row, line)
	}
}

func (r *Reader) readHeader() error {
	row, err := r.csv.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &headerError{line: pe.StartLine, err: pe.Err}
		}
		return err // io.EOF for an empty file: no records
	}
	index := make(map[string]int, len(row))
	for i, name := range row {
		name = columnName(name)
		if _, dup := index[name]; dup {
			return &headerError{line: 1, err: fmt.Errorf("column %q twice", name)}
		}
		index[name] = i
	}
	for c, name := range header {
		i, ok := index[name]
		if !ok && c < firstOptional {
			return &headerError{line: 1, err: fmt.Errorf("no column %q", name)}
		}
		if !ok {
			i = -1
		}
		r.col[c] = i
	}
	r.width = len(row)
	r.header = make([]string, len(row))
	for i, name := range row {
		r.header[i] = columnName(name)
	}
	return nil
}

// columnName returns a header field as it is compared: trimmed, in lower
// case, and without the byte order mark a spreadsheet may have added.
func columnName(s string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(s, "\ufeff")))
}

// isHeader reports whether row repeats the header, as in concatenated files.
func isHeader(row, header []string) bool {
	for i := range row {
		if columnName(row[i]) != header[i] {
			return false
		}
	}
	return true
}

func (r *Reader) record(row []string, line int) (Record, error) {
	f := func(c int) string {
		if r.col[c] < 0 {
			return ""
		}
		return undefuse(row[r.col[c]])
	}
	t, err := time.Parse(time.RFC3339, row[r.col[colTime]])
	if err != nil {
		return Record{}, &RowError{Line: line, Err: fmt.Errorf("time %q: want RFC 3339", row[r.col[colTime]])}
	}
	var cut []string
	if c := f(colCut); c != "" {
		cut = strings.Split(c, ";")
	}
	return Record{
		Time:            t.UTC(),
		Client:          f(colClient),
		DeviceType:      f(colDeviceType),
		MAC:             f(colMAC),
		Serial:          f(colSerial),
		Vendor:          f(colVendor),
		Model:           f(colModel),
		Revision:        f(colRevision),
		Locale:          f(colLocale),
		RequestModules:  parseModules(f(colRequestModules)),
		ResponseModules: parseModules(f(colResponseModules)),
		User:            f(colUser),
		Outcome:         f(colOutcome),
		Request:         f(colRequest),
		Path:            f(colPath),
		Account:         f(colAccount),
		AccountSource:   f(colAccountSource),
		Listener:        f(colListener),
		Cut:             cut,
	}, nil
}
