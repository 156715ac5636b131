package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// queueLength is how many records may wait for the writer before
	// Write blocks: a few seconds of a busy responder, about 2 MiB at
	// typical record sizes.
	queueLength = 4096

	// flushInterval bounds how long a written record stays in memory
	// while the queue never runs empty.
	flushInterval = time.Second

	// bufferLimit is how much encoded CSV is gathered before it is written
	// out regardless of the queue: 64 KiB, a few hundred records, one
	// write call.
	bufferLimit = 64 << 10

	// reportInterval is how often each kind of failure is logged while it
	// keeps happening; the rest are counted in the next report.
	reportInterval = time.Minute

	// fileMode is the mode of new files: the service writes, an
	// administrators' group reads.
	fileMode = 0o640

	// tailLimit is how much of the end of an existing file is read to end
	// an incomplete last row. Rows are far shorter: a check request is at
	// most 64 KiB.
	tailLimit = 1 << 20 // 1 MiB

	dayLayout = "2006-01-02"

	// DefaultMaxFileSize is the size at which a day's file is continued
	// in a new one: about a million rows of typical size.
	DefaultMaxFileSize = 256 << 20 // 256 MiB
	// DefaultMaxFiles is how many files one day may have; rows beyond
	// them are dropped and counted, so that a flood of requests cannot
	// fill the disk (2 GiB a day at the default size).
	DefaultMaxFiles = 8
)

// A Log writes records to the audit log files of one server in one
// directory. Its methods may be called from any goroutine.
type Log struct {
	// MaxFileSize and MaxFiles bound one day's files: once a file has
	// MaxFileSize bytes the day goes on in the next, and rows beyond
	// MaxFiles files are dropped and counted by [Log.Dropped]. Open sets
	// them to DefaultMaxFileSize and DefaultMaxFiles; change them, if at
	// all, before the first Write.
	MaxFileSize int64
	MaxFiles    int

	dir, server string
	logger      *slog.Logger

	mu     sync.RWMutex // held to read closed and send on queue; held for writing to close queue
	closed bool
	queue  chan Record

	done      chan struct{} // closed when the writer goroutine has finished
	closeOnce sync.Once
	closeErr  error

	errors  atomic.Int64
	dropped atomic.Int64

	reportMu sync.Mutex
	reports  map[string]*report

	// Owned by the writer goroutine.
	f       *os.File
	day     string       // the day of f
	part    int          // which of the day's files f is, from 0
	size    int64        // bytes in f and buf
	full    bool         // the day's files are full: drop its rows
	buf     bytes.Buffer // encoded rows not yet written to f
	enc     *csv.Writer  // writes to buf
	pending int          // records in buf
	row     []string
}

type report struct {
	last       time.Time
	suppressed int
}

// Open starts a log of server's checks in dir, which must exist and be
// writable. server names the files, so it must not be empty and must not
// contain "/", "\" or control characters. The first file is opened when the
// first record arrives. logger receives write failures; it may be nil.
func Open(dir, server string, logger *slog.Logger) (*Log, error) {
	if server == "" {
		return nil, errors.New("audit: empty server name")
	}
	if strings.ContainsAny(server, `/\`) {
		return nil, fmt.Errorf("audit: server name %q: contains a path separator", server)
	}
	if strings.IndexFunc(server, unsafeRune) >= 0 {
		return nil, fmt.Errorf("audit: server name %q: contains a control character", server)
	}
	// Fail now rather than at the first request if the directory is
	// missing or read-only: a responder that cannot audit should not start.
	probe, err := os.CreateTemp(dir, "."+server+"-probe-*")
	if err != nil {
		return nil, fmt.Errorf("audit: directory %q is not writable: %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())

	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{
		MaxFileSize: DefaultMaxFileSize,
		MaxFiles:    DefaultMaxFiles,
		dir:         dir,
		server:      server,
		logger:      logger,
		queue:       make(chan Record, queueLength),
		done:        make(chan struct{}),
		reports:     make(map[string]*report),
	}
	l.enc = csv.NewWriter(&l.buf)
	go l.run()
	return l, nil
}

// Write queues r to be written. It returns at once unless the queue is
// full, in which case it waits for room: records are never dropped to keep
// a caller fast. A zero r.Time is taken as now. r's module slices are
// copied, so the caller may reuse them.
//
// After [Log.Close], Write drops r, logs that it did and counts it in
// [Log.Errors]; it never panics.
func (l *Log) Write(r Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.RequestModules = slices.Clone(r.RequestModules)
	r.ResponseModules = slices.Clone(r.ResponseModules)

	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.fail("audit log: record written after close dropped", errors.New("audit: log is closed"), 1)
		return
	}
	l.queue <- r
}

// Close writes every queued record, syncs the file to disk and closes it.
// It returns the first error of that final flush, sync or close; earlier
// failures were logged and counted by [Log.Errors]. Later calls return the
// same error.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.queue)
		l.mu.Unlock()
		<-l.done
	})
	return l.closeErr
}

// Dropped returns how many records were not written because their day's
// files were full.
func (l *Log) Dropped() int64 {
	return l.dropped.Load()
}

// Errors returns how many failures there have been: one for each record
// that was lost (written after Close, or not written because its file could
// not be opened or written) and one for each failed sync or close.
func (l *Log) Errors() int64 {
	return l.errors.Load()
}

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(flushInterval)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-l.queue:
			if !ok {
				l.closeErr = l.finish()
				return
			}
			l.write(r)
			if len(l.queue) == 0 || l.buf.Len() >= bufferLimit {
				l.flush()
			}
		case <-tick.C:
			l.flush()
		}
	}
}

// write encodes r into the buffer for its day's file, switching files when
// the day changes.
func (l *Log) write(r Record) {
	day := r.Time.UTC().Format(dayLayout)
	if day == l.day && l.full {
		l.drop()
		return
	}
	if l.f == nil || day != l.day || l.size >= l.MaxFileSize {
		part := 0
		if day == l.day && l.f != nil {
			part = l.part + 1
		}
		l.flush()
		if err := l.closeFile(); err != nil {
			l.fail("audit log: close failed", err, 1)
		}
		if err := l.open(day, part); err != nil {
			l.fail("audit log: open failed, record dropped", err, 1)
			return
		}
		if l.full {
			l.drop()
			return
		}
	}
	l.row = appendRow(l.row[:0], r)
	before := l.buf.Len()
	l.enc.Write(l.row) // cannot fail: buf is a bytes.Buffer
	l.enc.Flush()
	l.size += int64(l.buf.Len() - before)
	l.pending++
}

// drop counts a record that does not fit in its day's files.
func (l *Log) drop() {
	l.dropped.Add(1)
	l.fail("audit log: the day's files are full, records dropped", fmt.Errorf("audit: %d files of %d bytes", l.MaxFiles, l.MaxFileSize), 0)
}

// fileName returns the name of a day's file: the first is
// <server>-<day>.csv, the next <server>-<day>.1.csv and so on.
func (l *Log) fileName(day string, part int) string {
	if part == 0 {
		return filepath.Join(l.dir, l.server+"-"+day+".csv")
	}
	return filepath.Join(l.dir, fmt.Sprintf("%s-%s.%d.csv", l.server, day, part))
}

// open opens the first of day's files from part on that is not full, for
// appending: a new file gets the header row, and an existing one whose
// last row is incomplete gets it ended. When all MaxFiles are full, it
// marks the day full.
func (l *Log) open(day string, part int) error {
	for ; part < l.MaxFiles; part++ {
		fi, err := os.Stat(l.fileName(day, part))
		if err != nil || fi.Size() < l.MaxFileSize {
			break
		}
	}
	if part >= l.MaxFiles {
		l.day, l.full = day, true
		return nil
	}
	l.full = false
	name := l.fileName(day, part)
	created := true
	f, err := os.OpenFile(name, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, os.ErrExist) {
		created = false
		f, err = os.OpenFile(name, os.O_RDWR|os.O_APPEND, 0)
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if created {
		// The umask may have narrowed the mode; the readers' group
		// needs it as documented.
		if err := f.Chmod(fileMode); err != nil {
			l.fail("audit log: chmod failed", fmt.Errorf("audit: %w", err), 0)
		}
	}
	end, err := tail(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: read %s: %w", name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: %w", err)
	}
	l.buf.Reset()
	l.pending = 0
	l.buf.WriteString(end)
	l.f, l.day, l.part, l.size = f, day, part, fi.Size()+int64(len(end))
	return nil
}

// tail returns what must be written to f before the next row: the header
// row when f is empty, nothing when f ends with a newline, and otherwise
// what ends an incomplete last row (a closing quote if the row stopped
// inside a quoted field, and a newline).
func tail(f *os.File) (string, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	size := fi.Size()
	if size == 0 {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write(header[:])
		w.Flush()
		return b.String(), nil
	}
	n := min(size, tailLimit)
	b := make([]byte, n)
	if _, err := f.ReadAt(b, size-n); err != nil && err != io.EOF {
		return "", err
	}
	if b[n-1] == '\n' {
		return "", nil
	}
	// Rows hold no newlines, so the incomplete row starts after the last
	// one; and since every quote in CSV opens or closes quoting (a doubled
	// quote does both), an odd count means the row stopped inside quotes.
	last := b[bytes.LastIndexByte(b, '\n')+1:]
	if bytes.Count(last, []byte{'"'})%2 == 1 {
		return "\"\n", nil
	}
	return "\n", nil
}

// flush writes the buffer to the file. On failure the buffered records are
// lost and the file is closed, to be reopened, and its last row ended, for
// the next record.
func (l *Log) flush() {
	if l.buf.Len() == 0 || l.f == nil {
		return
	}
	_, err := l.f.Write(l.buf.Bytes())
	l.buf.Reset()
	n := l.pending
	l.pending = 0
	if err != nil {
		l.fail("audit log: write failed, records dropped", fmt.Errorf("audit: %w", err), n, slog.Int("records", n))
		l.f.Close()
		l.f, l.day = nil, ""
	}
}

// closeFile syncs and closes the current file, if any.
func (l *Log) closeFile() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f, l.day = nil, ""
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: close %s: %w", f.Name(), err)
	}
	return nil
}

// finish ends the writer: the queue is closed and empty.
func (l *Log) finish() error {
	var err error
	if l.f != nil && l.buf.Len() > 0 {
		n := l.pending
		if _, werr := l.f.Write(l.buf.Bytes()); werr != nil {
			err = fmt.Errorf("audit: %w", werr)
			l.fail("audit log: write failed, records dropped", err, n, slog.Int("records", n))
		}
		l.buf.Reset()
		l.pending = 0
	}
	if cerr := l.closeFile(); cerr != nil {
		l.fail("audit log: close failed", cerr, 1)
		if err == nil {
			err = cerr
		}
	}
	return err
}

// fail counts n failures and logs msg with err, unless msg was logged less
// than reportInterval ago; then the next report of msg says how many were
// not logged.
func (l *Log) fail(msg string, err error, n int, attrs ...slog.Attr) {
	l.errors.Add(int64(n))
	l.reportMu.Lock()
	rep := l.reports[msg]
	if rep == nil {
		rep = &report{}
		l.reports[msg] = rep
	}
	now := time.Now()
	if !rep.last.IsZero() && now.Sub(rep.last) < reportInterval {
		rep.suppressed++
		l.reportMu.Unlock()
		return
	}
	suppressed := rep.suppressed
	rep.last, rep.suppressed = now, 0
	l.reportMu.Unlock()

	attrs = append(attrs, slog.String("dir", l.dir), slog.String("server", l.server), slog.String("err", err.Error()))
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	l.logger.LogAttrs(context.Background(), slog.LevelError, msg, attrs...)
}
