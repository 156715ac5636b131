package simulate

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"
)

// Config is how a run goes.
type Config struct {
	Network  Network
	Accounts *Accounts
	// Concurrency bounds the phones talking to the service at once.
	Concurrency int
	// Duration bounds the simulated time of a run.
	Duration time.Duration
	// BootSpread is the simulated time over which phones that power on
	// at the start of the run do so.
	BootSpread time.Duration
	// PowerOn makes every phone power on at the start, also those of a
	// fleet that continues from an earlier run.
	PowerOn bool
	// Tree, when set, is the tree the responder serves: the report then
	// says which version each phone should end on.
	Tree *Tree
	// TopologySite is the responder's topology site, for site-scoped test
	// devices.
	TopologySite string
	// Seed makes the power-on times repeatable.
	Seed uint64
	// Progress, when set, is called about five times a second of wall
	// time.
	Progress func(Progress)
	Logger   *slog.Logger
}

// Defaults.
const (
	DefaultConcurrency = 32
	DefaultDuration    = 7 * 24 * time.Hour
	DefaultBootSpread  = 30 * time.Minute
	// MaxConcurrency bounds the requests in flight: past a few hundred a
	// responder on two cores only queues them.
	MaxConcurrency = 4096
	progressEvery  = 200 * time.Millisecond
)

// Progress is how far a run is.
type Progress struct {
	Simulated time.Duration
	Settled   int
	Phones    int
	Checks    int
}

type evKind uint8

const (
	evPowerOn evKind = iota
	evSignIn
	evDaily
	evRetry
	evReboot
)

type event struct {
	at   time.Duration // since the start of the run
	seq  uint64
	kind evKind
	gen  int // for evDaily: the power-on it belongs to
	ph   *phoneRun
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// phoneRun is a phone's state during a run.
type phoneRun struct {
	p   *Phone
	idx int
	// Touched only by the step running for the phone (one at a time).
	staged      string // version downloaded, waiting for the reboot
	retryQueued bool
	checked     bool
	gen         int
	checks      int
	downloads   int
	// Touched only by the dispatcher.
	busy      bool
	deferred  []*event
	pending   int // queued events other than the daily check
	nextDaily time.Duration
	settled   bool
}

type sim struct {
	cfg   Config
	nw    *network
	start time.Time
}

type stepDone struct {
	ev    *event
	t     tally
	next  []event
	ended time.Duration
}

// step runs one event of one phone.
func (s *sim) step(ctx context.Context, ev *event) (t tally, next []event) {
	ph, now := ev.ph, ev.at
	switch ev.kind {
	case evPowerOn:
		ph.gen++
		next = append(next, event{at: now + CheckInterval, kind: evDaily, gen: ph.gen})
		if ph.p.User != "" {
			next = append(next, event{at: now + SignInDelay, kind: evSignIn})
		}
		ph.staged = ""
		s.check(ctx, ph, now, &t, &next)
	case evSignIn:
		if ph.staged == "" {
			s.check(ctx, ph, now, &t, &next)
		}
	case evDaily:
		if ev.gen != ph.gen {
			return // a reboot restarted the day
		}
		next = append(next, event{at: now + CheckInterval, kind: evDaily, gen: ph.gen})
		if ph.staged == "" {
			s.check(ctx, ph, now, &t, &next)
		}
	case evRetry:
		ph.retryQueued = false
		if ph.staged == "" {
			s.check(ctx, ph, now, &t, &next)
		}
	case evReboot:
		p := ph.p
		if ph.staged != "" && ph.staged != p.Version {
			p.Backup, p.Version = p.Version, ph.staged
			when := s.start.Add(now)
			p.LastUpdate = &when
			t.installs++
			t.installedAt = now
		}
		ph.staged = ""
		next = append(next, event{at: now + BootTime, kind: evPowerOn})
	}
	return t, next
}

// Run simulates a fleet until every phone has checked and has nothing
// left to do but its next daily check, or until cfg.Duration of simulated
// time has passed. It updates the fleet (versions, clock, next checks,
// states) and reports what happened.
func Run(ctx context.Context, f *Fleet, cfg Config) (*Report, error) {
	if err := prepare(f, &cfg); err != nil {
		return nil, err
	}
	s := &sim{cfg: cfg, nw: newNetwork(cfg.Network, cfg.Concurrency), start: f.Clock}
	defer s.nw.close()
	wallStart := time.Now()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x706f7765726f6e)) // "poweron"
	q := &eventQueue{}
	var seq uint64
	push := func(e *event) {
		seq++
		e.seq = seq
		if e.kind == evDaily {
			e.ph.nextDaily = e.at
		} else {
			e.ph.pending++
		}
		heap.Push(q, e)
	}
	runs := make([]*phoneRun, len(f.Phones))
	for i, p := range f.Phones {
		ph := &phoneRun{p: p, idx: i}
		runs[i] = ph
		p.State, p.Error = StateNotChecked, ""
		if p.NextCheck == nil || cfg.PowerOn {
			at := time.Duration(0)
			if cfg.BootSpread > 0 {
				at = time.Duration(rng.Int64N(int64(cfg.BootSpread))).Truncate(time.Second)
			}
			push(&event{at: at, kind: evPowerOn, ph: ph})
		} else {
			push(&event{at: max(0, p.NextCheck.Sub(f.Clock)), kind: evDaily, ph: ph})
		}
	}
	var (
		total    tally
		inflight = make(map[uint64]time.Duration, cfg.Concurrency)
		done     = make(chan stepDone, cfg.Concurrency)
		settled  int
		now      time.Duration
		ticker   = time.NewTicker(progressEvery)
		err      error
	)
	defer ticker.Stop()
	floor := func() time.Duration {
		m := time.Duration(1<<63 - 1)
		if q.Len() > 0 {
			m = (*q)[0].at
		}
		for _, at := range inflight {
			m = min(m, at)
		}
		return m
	}
	progress := func() {
		if cfg.Progress != nil {
			cfg.Progress(Progress{Simulated: now, Settled: settled, Phones: len(runs), Checks: total.checks})
		}
	}
	for {
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		for err == nil && settled < len(runs) && len(inflight) < cfg.Concurrency && q.Len() > 0 {
			ev := (*q)[0]
			if ev.at > cfg.Duration || ev.at >= floor()+lookahead && len(inflight) > 0 {
				break
			}
			heap.Pop(q)
			ph := ev.ph
			if ph.busy {
				ph.deferred = append(ph.deferred, ev)
				continue
			}
			if ev.kind != evDaily {
				ph.pending--
			}
			ph.busy = true
			now = max(now, ev.at)
			inflight[ev.seq] = ev.at
			go func() {
				t, next := s.step(ctx, ev)
				done <- stepDone{ev: ev, t: t, next: next}
			}()
		}
		if len(inflight) == 0 {
			break
		}
		select {
		case d := <-done:
			delete(inflight, d.ev.seq)
			total.add(d.t)
			ph := d.ev.ph
			ph.busy = false
			for i := range d.next {
				e := d.next[i]
				e.ph = ph
				push(&e)
			}
			for _, e := range ph.deferred {
				heap.Push(q, e)
			}
			ph.deferred = ph.deferred[:0]
			was := ph.settled
			ph.settled = ph.checked && ph.pending == 0 && len(ph.deferred) == 0
			switch {
			case ph.settled && !was:
				settled++
			case !ph.settled && was:
				settled--
			}
		case <-ticker.C:
			progress()
		}
	}
	progress()
	end := f.Clock.Add(now)
	for _, ph := range runs {
		if ph.nextDaily > 0 || ph.gen > 0 {
			next := f.Clock.Add(ph.nextDaily)
			ph.p.NextCheck = &next
		}
		if ph.staged != "" {
			ph.p.State = StateInstalling
		}
	}
	r := s.report(f, runs, total, now, time.Since(wallStart), settled == len(runs))
	f.Clock = end
	return r, err
}

// prepare checks a fleet and a configuration and fills in defaults.
func prepare(f *Fleet, cfg *Config) error {
	if err := f.Check(); err != nil {
		return fmt.Errorf("simulate: fleet: %v", err)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Concurrency < 1 || cfg.Concurrency > MaxConcurrency {
		return fmt.Errorf("simulate: concurrency %d: want 1 to %d", cfg.Concurrency, MaxConcurrency)
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Duration < 0 || cfg.BootSpread < 0 {
		return fmt.Errorf("simulate: negative duration")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &cfg.Network
	if n.InternalURL == "" && cfg.Tree != nil {
		n.InternalURL = cfg.Tree.Service.InternalURL
	}
	if n.ExternalURL == "" && cfg.Tree != nil {
		n.ExternalURL = cfg.Tree.Service.ExternalURL
	}
	if n.ExternalURL == "" {
		n.ExternalURL = n.InternalURL
	}
	if n.InternalURL == "" {
		return fmt.Errorf("simulate: no internal URL (give one, or the tree whose service names it)")
	}
	if n.Domain == "" {
		n.Domain = DomainOf(n.InternalURL)
	}
	if err := n.check(); err != nil {
		return err
	}
	if n.Bind.IsValid() && !bindRoom(n.Bind, len(f.Phones)) {
		return fmt.Errorf("simulate: %s has fewer addresses than the fleet's %d phones", n.Bind, len(f.Phones))
	}
	if f.Clock.IsZero() {
		f.Clock = time.Now().UTC().Truncate(time.Second)
	}
	return nil
}

// sortedStates lists the states in a fixed order for reports.
func sortedStates(m map[State]int) []State {
	var out []State
	for _, s := range states {
		if m[s] > 0 {
			out = append(out, s)
		}
	}
	return slices.Clip(out)
}
