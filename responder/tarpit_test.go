package responder

import (
	"context"
	"testing"
	"time"
)

// TestRefusalDelayBounded: a locked-out client waits refusalDelay for its
// 429, unless it goes away first; once refusalDelaySlots refusals wait,
// the next is answered at once, so that a flood of connections cannot
// pile up waiting goroutines without bound.
func TestRefusalDelayBounded(t *testing.T) {
	r := &Responder{tarpit: make(chan struct{}, refusalDelaySlots)}
	start := time.Now()
	r.delayRefusal(context.Background())
	if d := time.Since(start); d < refusalDelay {
		t.Errorf("refusal answered after %v, want at least %v", d, refusalDelay)
	}
	if len(r.tarpit) != 0 {
		t.Errorf("%d slots still held after the wait", len(r.tarpit))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	r.delayRefusal(ctx)
	if d := time.Since(start); d >= refusalDelay {
		t.Errorf("a client gone away still waited %v", d)
	}

	for range refusalDelaySlots {
		r.tarpit <- struct{}{}
	}
	start = time.Now()
	r.delayRefusal(context.Background())
	if d := time.Since(start); d >= refusalDelay {
		t.Errorf("with every slot taken the refusal still waited %v", d)
	}
	if len(r.tarpit) != refusalDelaySlots {
		t.Errorf("slots = %d, want %d", len(r.tarpit), refusalDelaySlots)
	}
}
