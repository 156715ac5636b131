package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// stormCheckLimit bounds the checks of a storm, whose latencies are all
// kept to compute percentiles: 8 bytes each.
const stormCheckLimit = 10_000_000

// StormReport is what a storm measured, for the inside phones and for the
// outside ones, which storm one after the other (a building's power comes
// back for the inside phones; the outside ones show what credentials cost).
type StormReport struct {
	Phones  int        `json:"phones"`
	Rounds  int        `json:"rounds"`
	Inside  *StormSide `json:"inside,omitempty"`
	Outside *StormSide `json:"outside,omitempty"`
}

// StormSide is the storm of one side of the firewall.
type StormSide struct {
	Checks       int     `json:"checks"`
	OK           int     `json:"ok"`
	Denied       int     `json:"denied"`
	Unauthorized int     `json:"unauthorized"`
	Throttled    int     `json:"throttled"`
	Errors       int     `json:"errors"`
	WallSeconds  float64 `json:"wall_seconds"`
	ChecksPerSec float64 `json:"checks_per_second"`
	// Latencies of the checks, in milliseconds.
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	// FirstError is one of the errors, to show what went wrong.
	FirstError string `json:"first_error,omitempty"`
}

// Storm powers every phone on at once and sends each one's power-on check
// rounds times, as fast as the responder answers with cfg.Concurrency in
// flight: first the inside phones, then the outside ones. It downloads
// nothing and changes no phone.
func Storm(ctx context.Context, f *Fleet, cfg Config, rounds int) (*StormReport, error) {
	if err := prepare(f, &cfg); err != nil {
		return nil, err
	}
	if rounds < 1 || rounds*len(f.Phones) > stormCheckLimit {
		return nil, fmt.Errorf("simulate: storm of %d rounds of %d phones: want 1 to %d checks", rounds, len(f.Phones), stormCheckLimit)
	}
	s := &sim{cfg: cfg, nw: newNetwork(cfg.Network, cfg.Concurrency), start: f.Clock}
	defer s.nw.close()
	r := &StormReport{Phones: len(f.Phones), Rounds: rounds}
	for _, sd := range []side{inside, outside} {
		var runs []*phoneRun
		for i, p := range f.Phones {
			if sideOf(p) == sd {
				runs = append(runs, &phoneRun{p: p, idx: i})
			}
		}
		if len(runs) == 0 {
			continue
		}
		res := s.storm(ctx, runs, rounds)
		if sd == inside {
			r.Inside = res
		} else {
			r.Outside = res
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (s *sim) storm(ctx context.Context, runs []*phoneRun, rounds int) *StormSide {
	jobs := make(chan *phoneRun)
	var (
		mu        sync.Mutex
		res       StormSide
		latencies = make([]time.Duration, 0, len(runs)*rounds)
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range s.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ph := range jobs {
				var t tally
				var lat time.Duration
				base, err := s.discover(ctx, ph)
				if err == nil {
					c, done := s.nw.client(sideOf(ph.p), ph.idx)
					t0 := time.Now()
					_, err = s.post(ctx, c, ph, base, &t)
					lat = time.Since(t0)
					done()
				}
				mu.Lock()
				res.Checks++
				var es *errStatus
				switch {
				case err == nil:
					res.OK++
				case errors.As(err, &es) && es.code == http.StatusForbidden:
					res.Denied++
				case errors.As(err, &es) && es.code == http.StatusUnauthorized:
					res.Unauthorized++
				case errors.As(err, &es) && es.code == http.StatusTooManyRequests:
					res.Throttled++
				default:
					res.Errors++
					if res.FirstError == "" {
						res.FirstError = ph.p.Name + ": " + err.Error()
					}
				}
				if lat > 0 {
					latencies = append(latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for range rounds {
		for _, ph := range runs {
			select {
			case jobs <- ph:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(start)
	res.WallSeconds = wall.Seconds()
	if wall > 0 {
		res.ChecksPerSec = float64(res.Checks) / wall.Seconds()
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		i := min(len(latencies)-1, int(p*float64(len(latencies))))
		return float64(latencies[i]) / float64(time.Millisecond)
	}
	res.P50, res.P90, res.P99 = pct(0.50), pct(0.90), pct(0.99)
	if len(latencies) > 0 {
		res.Max = float64(latencies[len(latencies)-1]) / float64(time.Millisecond)
	}
	return &res
}

// WriteSummary writes the storm's figures for people.
func (r *StormReport) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "storm: %d phones power on at once, %d round(s) of checks\n", r.Phones, r.Rounds)
	for _, x := range []struct {
		name string
		s    *StormSide
	}{{"inside", r.Inside}, {"outside", r.Outside}} {
		if x.s == nil {
			continue
		}
		s := x.s
		fmt.Fprintf(w, "%-7s  %7d checks in %.2f s: %.0f checks/s; latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
			x.name, s.Checks, s.WallSeconds, s.ChecksPerSec, s.P50, s.P90, s.P99, s.Max)
		fmt.Fprintf(w, "         %d answered, %d denied, %d unauthorized, %d throttled, %d errors\n", s.OK, s.Denied, s.Unauthorized, s.Throttled, s.Errors)
		if s.FirstError != "" {
			fmt.Fprintf(w, "         first error: %s\n", s.FirstError)
		}
	}
}
