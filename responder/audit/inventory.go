package audit

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/duws/duws/builder/device"
)

// problemLimit is how many malformed rows a [Fleet] lists by file and line;
// the rest are only counted. A damaged file can have thousands, and the
// first few are what an administrator needs to go and look.
const problemLimit = 10

// A Fleet is the devices found in audit logs, each as its latest record
// describes it.
type Fleet struct {
	// Devices are sorted by Key.
	Devices []Device
	// Skipped counts the rows that could not be read as records.
	Skipped int
	// Problems describe, as "file:line: what", the first ten skipped
	// rows, and every file that was not an audit log.
	Problems []string
}

// A Device is one device of a [Fleet], as its latest record described it.
type Device struct {
	// Key identifies the device: "mac:" and its MAC address, or when it
	// sent none, "serial:" and its serial number, or when it sent neither,
	// "client:" and the address it called from. Addresses and serials in
	// the forms duws compares are normalised (MAC 12 lower-case hex
	// digits, serial upper-case); others are kept as they were sent.
	Key string
	// MAC is the MAC address as 12 lower-case hex digits, or as sent if it
	// is not a MAC address. Serial is as sent.
	MAC, Serial string
	// Identity is DeviceType/Vendor/Model/Revision/Locale, the identity a
	// policy rule matches, as in "UCPhone/Polycom/CX600/A/ENU".
	Identity string
	// Modules are the modules the device reported installed, sorted by
	// name; if it reported a name twice, the later one.
	Modules []Module
	// LastSeen is the time of the latest record.
	LastSeen time.Time
	// User, Client and Outcome are those of the latest record.
	User, Client, Outcome string
}

// Inventory reads the audit logs at paths, files or directories of *.csv
// files (not descending into subdirectories), and returns one [Device] for
// each device found, as its latest record describes it. Of records of the
// same device with the same time, the one read last counts; files are read
// in the order given, a directory's in name order.
//
// Rows that cannot be records are skipped and counted, and files that are
// not audit logs are skipped, both noted in [Fleet.Problems]. The error is
// for paths that cannot be read.
func Inventory(paths []string) (*Fleet, error) {
	var files []string
	seen := make(map[string]bool)
	add := func(name string) {
		if clean := filepath.Clean(name); !seen[clean] {
			seen[clean] = true
			files = append(files, name)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		for _, e := range entries {
			if strings.EqualFold(filepath.Ext(e.Name()), ".csv") && e.Type().IsRegular() {
				add(filepath.Join(p, e.Name()))
			}
		}
	}

	fleet := &Fleet{}
	latest := make(map[string]Record)
	for _, name := range files {
		if err := fleet.read(name, latest); err != nil {
			return nil, err
		}
	}
	fleet.Devices = make([]Device, 0, len(latest))
	for key, r := range latest {
		fleet.Devices = append(fleet.Devices, newDevice(key, r))
	}
	slices.SortFunc(fleet.Devices, func(a, b Device) int { return cmp.Compare(a.Key, b.Key) })
	return fleet, nil
}

// read reads one file into latest.
func (fl *Fleet) read(name string, latest map[string]Record) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	r := NewReader(f)
	for {
		rec, err := r.Read()
		var rowErr *RowError
		var headErr *headerError
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &rowErr):
			fl.Skipped++
			if fl.Skipped <= problemLimit {
				fl.Problems = append(fl.Problems, fmt.Sprintf("%s:%d: %v", name, rowErr.Line, rowErr.Err))
			}
			continue
		case errors.As(err, &headErr):
			fl.Problems = append(fl.Problems, fmt.Sprintf("%s:%d: %v: not an audit log", name, headErr.line, headErr.err))
			return nil
		case err != nil:
			return fmt.Errorf("audit: read %s: %w", name, err)
		}
		if rec.Request != "" && rec.Request != RequestCheck {
			continue // a download says nothing of the device
		}
		key := deviceKey(rec)
		if old, ok := latest[key]; !ok || !rec.Time.Before(old.Time) {
			latest[key] = rec
		}
	}
}

// deviceKey returns the key of the device that sent r, as [Device.Key]
// describes it.
func deviceKey(r Record) string {
	switch {
	case r.MAC != "":
		return "mac:" + normalizeMAC(r.MAC)
	case r.Serial != "":
		if s, err := device.NormalizeSerial(r.Serial); err == nil {
			return "serial:" + s
		}
		return "serial:" + r.Serial
	default:
		return "client:" + r.Client
	}
}

func normalizeMAC(s string) string {
	if m, err := device.NormalizeMAC(s); err == nil {
		return m
	}
	return s
}

// Identity returns the identity of the device that sent r, as
// [Device.Identity] describes it.
func (r Record) Identity() string {
	return strings.Join([]string{r.DeviceType, r.Vendor, r.Model, r.Revision, r.Locale}, "/")
}

func newDevice(key string, r Record) Device {
	var mods []Module
	for _, m := range r.RequestModules {
		if i := slices.IndexFunc(mods, func(o Module) bool { return o.Name == m.Name }); i >= 0 {
			mods[i] = m
		} else {
			mods = append(mods, m)
		}
	}
	slices.SortFunc(mods, func(a, b Module) int { return cmp.Compare(a.Name, b.Name) })
	d := Device{
		Key:      key,
		Serial:   r.Serial,
		Identity: r.Identity(),
		Modules:  mods,
		LastSeen: r.Time,
		User:     r.User,
		Client:   r.Client,
		Outcome:  r.Outcome,
	}
	if r.MAC != "" {
		d.MAC = normalizeMAC(r.MAC)
	}
	return d
}
