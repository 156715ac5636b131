package simulate

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Report is what a run did and where it left the fleet.
type Report struct {
	Phones int `json:"phones"`
	// Start and End are simulated times.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// SimulatedSeconds is End - Start; WallSeconds is how long the run
	// took.
	SimulatedSeconds float64 `json:"simulated_seconds"`
	WallSeconds      float64 `json:"wall_seconds"`

	Checks           int   `json:"checks"`
	Offers           int   `json:"offers"`       // checks answered with an update
	UpToDate         int   `json:"up_to_date"`   // checks answered downloads=0
	Denied           int   `json:"denied"`       // 403
	Unauthorized     int   `json:"unauthorized"` // 401
	Throttled        int   `json:"throttled"`    // 429
	Errors           int   `json:"errors"`       // discovery, connection, 5xx, bad answers
	Downloads        int   `json:"downloads"`    // files fetched
	DownloadFailures int   `json:"download_failures"`
	Installs         int   `json:"installs"`
	BytesDownloaded  int64 `json:"bytes_downloaded"`
	BytesChecks      int64 `json:"bytes_checks"` // check requests and answers

	// Settled is true when every phone checked and had nothing left to do
	// but its daily check when the run ended.
	Settled bool `json:"settled"`
	// ConvergedSeconds is the simulated time from the start of the run to
	// the last install (0 when nothing was installed); meaningful when
	// Settled.
	ConvergedSeconds float64 `json:"converged_seconds"`
	// OnTarget and OffTarget count the phones that reached the service
	// on and off the version the tree brings them to (with a tree only);
	// phones that were refused or could not reach it are in neither.
	OnTarget  int `json:"on_target"`
	OffTarget int `json:"off_target"`

	States  map[State]int `json:"states"`
	Groups  []Group       `json:"groups"`
	Devices []PhoneReport `json:"devices"`
}

// Group counts the phones of one identity, audience, version and state.
type Group struct {
	Identity string `json:"identity"`
	Audience string `json:"audience,omitempty"`
	Version  string `json:"version"`
	Target   string `json:"target,omitempty"`
	State    State  `json:"state"`
	Phones   int    `json:"phones"`
}

// PhoneReport is one phone at the end of a run.
type PhoneReport struct {
	Phone
	// Audience and Target are what the tree says (with a tree only).
	Audience  string `json:"audience,omitempty"`
	Target    string `json:"target,omitempty"`
	OnTarget  *bool  `json:"on_target,omitempty"`
	Checks    int    `json:"checks"`
	Downloads int    `json:"downloads"`
}

// reached reports whether a phone got an answer from the service.
func reached(s State) bool {
	return s == StateUpToDate || s == StateInstalling || s == StateRetrying
}

func (s *sim) report(f *Fleet, runs []*phoneRun, t tally, simulated, wall time.Duration, settled bool) *Report {
	r := &Report{
		Phones: len(runs), Start: f.Clock, End: f.Clock.Add(simulated),
		SimulatedSeconds: simulated.Seconds(), WallSeconds: wall.Seconds(),
		Checks: t.checks, Offers: t.offers, UpToDate: t.upToDate, Denied: t.denied, Unauthorized: t.unauthorized,
		Throttled: t.throttled, Errors: t.errors, Downloads: t.downloads, DownloadFailures: t.downloadFailures,
		Installs: t.installs, BytesDownloaded: t.bytesDown, BytesChecks: t.bytesChecks,
		Settled: settled, States: make(map[State]int),
	}
	if t.installs > 0 {
		r.ConvergedSeconds = t.installedAt.Seconds()
	}
	groups := make(map[Group]int)
	for _, ph := range runs {
		p := ph.p
		pr := PhoneReport{Phone: *p, Checks: ph.checks, Downloads: ph.downloads}
		pr.NextCheck = nil
		if tr := s.cfg.Tree; tr != nil {
			pr.Audience = string(tr.Audience(p, s.cfg.TopologySite))
			if target, ok := tr.Target(p, s.cfg.TopologySite); ok {
				pr.Target = target
			} else {
				pr.Target = p.Version
			}
			if reached(p.State) {
				on := p.Version == pr.Target
				pr.OnTarget = &on
				if on {
					r.OnTarget++
				} else {
					r.OffTarget++
				}
			}
		}
		r.States[p.State]++
		groups[Group{Identity: p.Identity + " " + p.UpdateType, Audience: pr.Audience, Version: p.Version, Target: pr.Target, State: p.State}]++
		r.Devices = append(r.Devices, pr)
	}
	for g, n := range groups {
		g.Phones = n
		r.Groups = append(r.Groups, g)
	}
	sort.Slice(r.Groups, func(i, j int) bool {
		a, b := r.Groups[i], r.Groups[j]
		if a.Identity != b.Identity {
			return a.Identity < b.Identity
		}
		if a.Audience != b.Audience {
			return a.Audience < b.Audience
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.State < b.State
	})
	return r
}

// Converged reports whether the fleet ended where the service wants it:
// settled, no errors, and, with a tree, every phone that reached the
// service on its target.
func (r *Report) Converged() bool {
	return r.Settled && r.States[StateError]+r.States[StateNoService]+r.States[StateRetrying]+r.States[StateInstalling] == 0 && r.OffTarget == 0
}

// WriteSummary writes the report for people; with list, a line per phone
// too.
func (r *Report) WriteSummary(w io.Writer, list bool) {
	fmt.Fprintf(w, "%d phones, %s simulated (%s to %s) in %.1f s of wall time\n", r.Phones, human(r.SimulatedSeconds),
		r.Start.Format(time.DateTime), r.End.Format(time.DateTime), r.WallSeconds)
	fmt.Fprintf(w, "checks: %d (%d offered an update, %d nothing to do, %d denied, %d unauthorized, %d throttled, %d errors)\n",
		r.Checks, r.Offers, r.UpToDate, r.Denied, r.Unauthorized, r.Throttled, r.Errors)
	fmt.Fprintf(w, "downloads: %d files, %s, %d failed; installs: %d; checks moved %s\n",
		r.Downloads, bytesText(r.BytesDownloaded), r.DownloadFailures, r.Installs, bytesText(r.BytesChecks))
	switch {
	case !r.Settled:
		fmt.Fprintf(w, "not settled: some phones still had something to do when the run ended\n")
	case r.Installs == 0:
		fmt.Fprintf(w, "settled: nothing was installed\n")
	default:
		fmt.Fprintf(w, "settled: the last install came %s after the start\n", human(r.ConvergedSeconds))
	}
	var st []string
	for _, s := range sortedStates(r.States) {
		st = append(st, fmt.Sprintf("%d %s", r.States[s], s))
	}
	fmt.Fprintf(w, "phones: %s\n", strings.Join(st, ", "))
	if r.OnTarget+r.OffTarget > 0 {
		fmt.Fprintf(w, "on target: %d; off target: %d\n", r.OnTarget, r.OffTarget)
	}
	fmt.Fprintln(w, "\nphones  identity and update type            audience    version        target         state")
	for _, g := range r.Groups {
		fmt.Fprintf(w, "%6d  %-36s  %-10s  %-13s  %-13s  %s\n", g.Phones, g.Identity, g.Audience, g.Version, g.Target, g.State)
	}
	if list {
		fmt.Fprintln(w, "\nphone        version        last update          backup         state         error")
		for _, d := range r.Devices {
			last := "never"
			if d.LastUpdate != nil {
				last = d.LastUpdate.Format(time.DateTime)
			}
			fmt.Fprintf(w, "%-11s  %-13s  %-19s  %-13s  %-12s  %s\n", d.Name, d.Version, last, d.Backup, d.State, d.Error)
		}
	}
}

// human writes seconds as 1d2h3m4s.
func human(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	if d >= 24*time.Hour {
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%s", days, (d - days*24*time.Hour).String())
	}
	return d.String()
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
