package ldap

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestHealthLogsOncePerInterval: an outage is logged when it starts, at
// most once per interval while it lasts (with the failures in between),
// and when it ends; every failure is counted.
func TestHealthLogsOncePerInterval(t *testing.T) {
	var log syncBuffer
	h := newHealth(slog.New(slog.NewTextHandler(&log, nil)), 200*time.Millisecond, "ldaps://dc1")
	boom := errors.New("connection refused")
	for range 50 {
		h.fail(boom)
	}
	if got := strings.Count(log.String(), "msg="); got != 1 {
		t.Errorf("50 failures in a burst logged %d lines, want 1:\n%s", got, log.String())
	}
	time.Sleep(250 * time.Millisecond)
	h.fail(boom)
	if !strings.Contains(log.String(), `msg="directory still unavailable"`) || !strings.Contains(log.String(), "failures=50") {
		t.Errorf("after the interval, no reminder with the failures since:\n%s", log.String())
	}
	h.ok()
	h.ok()
	if got := strings.Count(log.String(), "directory available again"); got != 1 {
		t.Errorf("recovery logged %d times:\n%s", got, log.String())
	}
	if h.failures.Load() != 51 || h.isDown() {
		t.Errorf("failures %d, down %v; want 51 and up", h.failures.Load(), h.isDown())
	}
	h.fail(boom)
	if got := strings.Count(log.String(), `msg="directory unavailable"`); got != 2 {
		t.Errorf("a new outage after recovery is not logged at once:\n%s", log.String())
	}
}
