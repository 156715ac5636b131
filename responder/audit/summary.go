package audit

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/duws/duws/builder/device"
)

// A Summary counts a [Fleet]'s devices by identity, module and version, and
// how many are not on the approved version. It is sorted throughout: by
// identity, module name and version (four-part versions oldest first, then
// anything else by text).
type Summary struct {
	Devices     int               `json:"devices"`
	NotApproved int               `json:"not_approved"` // devices with a module not on its approved version
	Identities  []IdentitySummary `json:"identities"`
}

// An IdentitySummary counts the devices of one identity.
type IdentitySummary struct {
	Identity    string          `json:"identity"`
	Devices     int             `json:"devices"`
	NotApproved int             `json:"not_approved"` // devices with a module not on its approved version
	LastSeen    time.Time       `json:"last_seen"`    // the latest of the devices' LastSeen
	Modules     []ModuleSummary `json:"modules"`
}

// A ModuleSummary counts the versions of one module among the devices of an
// identity.
type ModuleSummary struct {
	Name       string `json:"name"`
	UpdateType string `json:"update_type"`
	// Approved is the approved version for the identity and update type,
	// or "" if there is none.
	Approved    string         `json:"approved,omitempty"`
	Devices     int            `json:"devices"`      // devices reporting the module
	NotApproved int            `json:"not_approved"` // of those, how many are not on Approved
	Versions    []VersionCount `json:"versions"`
}

// A VersionCount counts the devices reporting one version of a module.
type VersionCount struct {
	Version  string    `json:"version"`
	Devices  int       `json:"devices"`
	LastSeen time.Time `json:"last_seen"` // the latest of the devices' LastSeen
}

// Summary counts the fleet's devices by identity, module and version.
// approved returns the approved version for an identity (as in
// [Device.Identity]) and update type (as in [Module.UpdateType]), or false
// if there is none; the caller derives it from the policy. A device is on
// the approved version when it reports exactly that version. approved may
// be nil: then nothing counts as not approved.
func (f *Fleet) Summary(approved func(identity, updateType string) (version string, ok bool)) *Summary {
	byIdentity := make(map[string]*IdentitySummary)
	type moduleKey struct{ identity, name string }
	byModule := make(map[moduleKey]*ModuleSummary)
	type versionKey struct{ identity, name, version string }
	byVersion := make(map[versionKey]*VersionCount)

	s := &Summary{Devices: len(f.Devices), Identities: []IdentitySummary{}}
	for _, d := range f.Devices {
		is := byIdentity[d.Identity]
		if is == nil {
			is = &IdentitySummary{Identity: d.Identity, Modules: []ModuleSummary{}}
			byIdentity[d.Identity] = is
		}
		is.Devices++
		is.LastSeen = latestTime(is.LastSeen, d.LastSeen)
		behind := false
		for _, m := range d.Modules {
			mk := moduleKey{d.Identity, m.Name}
			ms := byModule[mk]
			if ms == nil {
				ms = &ModuleSummary{Name: m.Name, UpdateType: m.UpdateType()}
				if approved != nil {
					if v, ok := approved(d.Identity, ms.UpdateType); ok {
						ms.Approved = v
					}
				}
				byModule[mk] = ms
			}
			ms.Devices++
			if ms.Approved != "" && m.Version != ms.Approved {
				ms.NotApproved++
				behind = true
			}
			vk := versionKey{d.Identity, m.Name, m.Version}
			vc := byVersion[vk]
			if vc == nil {
				vc = &VersionCount{Version: m.Version}
				byVersion[vk] = vc
			}
			vc.Devices++
			vc.LastSeen = latestTime(vc.LastSeen, d.LastSeen)
		}
		if behind {
			is.NotApproved++
			s.NotApproved++
		}
	}

	for vk, vc := range byVersion {
		ms := byModule[moduleKey{vk.identity, vk.name}]
		ms.Versions = append(ms.Versions, *vc)
	}
	for mk, ms := range byModule {
		slices.SortFunc(ms.Versions, func(a, b VersionCount) int { return compareVersions(a.Version, b.Version) })
		is := byIdentity[mk.identity]
		is.Modules = append(is.Modules, *ms)
	}
	for _, is := range byIdentity {
		slices.SortFunc(is.Modules, func(a, b ModuleSummary) int { return cmp.Compare(a.Name, b.Name) })
		s.Identities = append(s.Identities, *is)
	}
	slices.SortFunc(s.Identities, func(a, b IdentitySummary) int { return cmp.Compare(a.Identity, b.Identity) })
	return s
}

func latestTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// compareVersions orders four-part versions oldest first, before anything
// else, which is ordered by text.
func compareVersions(a, b string) int {
	va, erra := device.ParseVersion(a)
	vb, errb := device.ParseVersion(b)
	switch {
	case erra == nil && errb == nil:
		return va.Compare(vb)
	case erra == nil:
		return -1
	case errb == nil:
		return +1
	}
	return cmp.Compare(a, b)
}

// WriteText writes s for a terminal: for each identity its devices and when
// one was last seen, then for each module the approved version, how many
// devices are not on it, and the devices on each version.
func (s *Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, is := range s.Identities {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		// Lines without tabs end tabwriter's column blocks, so only the
		// versions of one module are aligned with each other.
		fmt.Fprintf(tw, "%s: %s, last seen %s\n", is.Identity, plural(is.Devices, "device"), formatTime(is.LastSeen))
		for _, ms := range is.Modules {
			approved := "no approved version"
			if ms.Approved != "" {
				approved = fmt.Sprintf("approved %s, %d not on it", ms.Approved, ms.NotApproved)
			}
			fmt.Fprintf(tw, "  %s: %s, %s\n", ms.Name, plural(ms.Devices, "device"), approved)
			for _, vc := range ms.Versions {
				mark := ""
				if ms.Approved != "" && vc.Version == ms.Approved {
					mark = "\tapproved"
				}
				fmt.Fprintf(tw, "    %s\t%d\tlast seen %s%s\n", vc.Version, vc.Devices, formatTime(vc.LastSeen), mark)
			}
		}
	}
	if len(s.Identities) > 0 {
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "%s, %d not on an approved version\n", plural(s.Devices, "device"), s.NotApproved)
	return tw.Flush()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// summaryHeader is the header row of [Summary.WriteCSV].
var summaryHeader = []string{"identity", "module", "update_type", "version", "devices", "last_seen", "approved", "on_approved"}

// WriteCSV writes s as CSV with a header row, one row for each identity,
// module and version: identity, module, update_type, version, devices,
// last_seen, approved (the approved version, or empty) and on_approved
// ("yes", "no", or empty when there is no approved version).
func (s *Summary) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(summaryHeader)
	for _, is := range s.Identities {
		for _, ms := range is.Modules {
			for _, vc := range ms.Versions {
				on := ""
				switch {
				case ms.Approved == "":
				case vc.Version == ms.Approved:
					on = "yes"
				default:
					on = "no"
				}
				cw.Write([]string{is.Identity, ms.Name, ms.UpdateType, vc.Version, strconv.Itoa(vc.Devices), formatTime(vc.LastSeen), ms.Approved, on})
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes s as one indented JSON object, with the field names
// given in the struct tags and times in RFC 3339.
func (s *Summary) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(s)
}
