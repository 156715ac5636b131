package ldap

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// health logs a directory going away once, then at most once per
// interval while it stays away, and logs its return.
type health struct {
	log      *slog.Logger
	interval time.Duration
	url      string
	failures atomic.Int64
	down     atomic.Bool

	mu         sync.Mutex
	since      time.Time // when it went down
	lastLog    time.Time
	suppressed int64 // failures not logged since lastLog
}

func newHealth(log *slog.Logger, interval time.Duration, url string) *health {
	return &health{log: log, interval: interval, url: url}
}

func (h *health) isDown() bool { return h.down.Load() }

func (h *health) fail(err error) {
	h.failures.Add(1)
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.down.Load():
		h.down.Store(true)
		h.since, h.lastLog, h.suppressed = now, now, 0
		h.log.Warn("directory unavailable", "url", h.url, "err", err)
	case now.Sub(h.lastLog) >= h.interval:
		h.log.Warn("directory still unavailable", "url", h.url, "since", h.since.UTC().Format(time.RFC3339),
			"failures", h.suppressed+1, "err", err)
		h.lastLog, h.suppressed = now, 0
	default:
		h.suppressed++
	}
}

// ok records that the directory answered.
func (h *health) ok() {
	if !h.down.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.Load() {
		h.down.Store(false)
		h.log.Info("directory available again", "url", h.url, "after", time.Since(h.since).Round(time.Millisecond).String())
	}
}
