package simulate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/site"
)

// Limits on what a fleet can be.
const (
	// MaxPhones bounds a fleet: a million phones is a very large Lync
	// deployment, and each costs the simulator about a kilobyte.
	MaxPhones = 1_000_000
	// fleetFileLimit bounds a fleet file: a few hundred bytes per phone.
	fleetFileLimit = 1 << 30 // 1 GiB
	// accountsFileLimit bounds an accounts file, a line per user.
	accountsFileLimit = 64 << 20 // 64 MiB
	// fieldLimit bounds every text field of a phone, as the responder
	// bounds the fields of a check.
	fieldLimit = 256
)

// Phone is one simulated phone: what it is, where it is, who signed in on
// it, and its System Information.
type Phone struct {
	Name string `json:"name"`
	// Identity is DeviceType/Brand/Model/Revision/Locale.
	Identity   string `json:"identity"`
	UpdateType string `json:"update_type"`
	MAC        string `json:"mac"`
	Serial     string `json:"serial"`
	// Outside is a phone outside the firewall: it uses the external URL.
	Outside bool `json:"outside,omitempty"`
	// User is the account of the user who signed in on the phone, "" when
	// nobody did (the phone then discovers the service through the DNS).
	// The check names the user sip:User@domain; the phone authenticates
	// outside as User with the password the accounts give.
	User string `json:"user,omitempty"`
	// WrongPassword makes the phone send a password that is not the
	// account's, as a phone holding a changed password does.
	WrongPassword bool `json:"wrong_password,omitempty"`

	// System Information.
	Version    string     `json:"version"`
	Backup     string     `json:"backup,omitempty"`
	LastUpdate *time.Time `json:"last_update,omitempty"`

	// NextCheck is when the phone's daily check is due (simulated); nil
	// for a phone that powers on when the run starts.
	NextCheck *time.Time `json:"next_check,omitempty"`
	// State and Error are the outcome of the phone's last run.
	State State  `json:"state,omitempty"`
	Error string `json:"error,omitempty"`
}

// Fleet is a set of phones and the simulated time they are at.
type Fleet struct {
	// Clock is the simulated time; a run starts here and moves it on.
	Clock  time.Time `json:"clock"`
	Phones []*Phone  `json:"phones"`
}

// Mix says how Generate makes up a fleet. Percentages are of all phones,
// except WrongPassword, which is of the outside phones with a user.
type Mix struct {
	Phones        int
	Outside       float64
	NoUser        float64
	WrongPassword float64
	// Newer is the share of phones shipped with factory firmware newer
	// than any version the packages know.
	Newer float64
	// Users are the accounts phones with a user are signed in as, in
	// turn; with none, phones are signed in as user1, user2, ...
	Users []string
	Seed  uint64
	// Start is the simulated time the fleet starts at.
	Start time.Time
}

// Generate makes up a fleet from a tree: identities in turn from its
// lookup tables, a version at random from those each table knows (or a
// newer factory version), a unique MAC and serial, every entry of the
// test-device table on one phone each, and the mix's share of outside
// phones, phones without a user and wrong passwords. The same tree and mix
// give the same fleet.
func Generate(t *Tree, m Mix) (*Fleet, error) {
	if t == nil {
		return nil, errNoTree
	}
	if m.Phones < 1 || m.Phones > MaxPhones {
		return nil, fmt.Errorf("simulate: %d phones: want 1 to %d", m.Phones, MaxPhones)
	}
	for _, pct := range []float64{m.Outside, m.NoUser, m.WrongPassword, m.Newer} {
		if pct < 0 || pct > 100 {
			return nil, fmt.Errorf("simulate: percentage %g: want 0 to 100", pct)
		}
	}
	rng := rand.New(rand.NewPCG(m.Seed, 0x6475777373696d)) // "duwssim"
	f := &Fleet{Clock: m.Start.UTC().Truncate(time.Second)}
	taken := make(map[string]bool)
	testMACs := slices.Sorted(mapsKeys(t.Devices.MACs))
	testSerials := slices.Sorted(mapsKeys(t.Devices.Serials))
	for _, mac := range testMACs {
		taken[mac] = true
	}
	// Test-device entries go to phones spread over the fleet.
	tests := make(map[int]func(*Phone))
	order := rng.Perm(m.Phones)
	k := 0
	for _, mac := range testMACs {
		if k == len(order) {
			break
		}
		tests[order[k]] = func(p *Phone) { p.MAC = formatMAC(mac) }
		k++
	}
	for _, serial := range testSerials {
		if k == len(order) {
			break
		}
		tests[order[k]] = func(p *Phone) { p.Serial = serial }
		k++
	}
	userN := 0
	for i := range m.Phones {
		l := t.Tables[i%len(t.Tables)]
		id, _ := device.ParseIdentity(l.Identity)
		p := &Phone{
			Name:       fmt.Sprintf("phone-%05d", i+1),
			Identity:   l.Identity,
			UpdateType: l.UpdateType,
			Serial:     fmt.Sprintf("%s%s%07d", strings.ToUpper(id.Model), strings.ToUpper(id.Revision), i+1),
		}
		for {
			mac := fmt.Sprintf("%012x", uint64(vendorOUI(id.Brand))<<24|rng.Uint64N(1<<24))
			if !taken[mac] {
				taken[mac] = true
				p.MAC = formatMAC(mac)
				break
			}
		}
		if set, ok := tests[i]; ok {
			set(p)
		}
		p.Version = pickVersion(l, rng, m.Newer)
		p.Outside = rng.Float64()*100 < m.Outside
		if rng.Float64()*100 >= m.NoUser {
			if len(m.Users) > 0 {
				p.User = m.Users[userN%len(m.Users)]
			} else {
				p.User = fmt.Sprintf("user%d", userN+1)
			}
			userN++
			p.WrongPassword = p.Outside && rng.Float64()*100 < m.WrongPassword
		}
		f.Phones = append(f.Phones, p)
	}
	return f, nil
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// vendorOUI gives phones of a brand a plausible first half of a MAC.
func vendorOUI(brand string) uint32 {
	switch strings.ToLower(brand) {
	case "polycom":
		return 0x0004f2
	case "aastra":
		return 0x00085d
	case "hp":
		return 0x001871
	}
	return 0x02d075 // locally administered
}

// formatMAC writes 12 hex digits the way phones show them, 00-04-F2-...
func formatMAC(hex string) string {
	var b strings.Builder
	for i := 0; i < len(hex); i += 2 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strings.ToUpper(hex[i : i+2]))
	}
	return b.String()
}

// pickVersion picks a version the table knows, or one newer than all of
// them.
func pickVersion(l *site.Lookup, rng *rand.Rand, newer float64) string {
	var known []device.Version
	for v := range l.Production.Versions {
		if pv, err := device.ParseVersion(v); err == nil {
			known = append(known, pv)
		}
	}
	if t, err := device.ParseVersion(l.Production.Target); err == nil && !slices.Contains(known, t) {
		known = append(known, t)
	}
	slices.SortFunc(known, device.Version.Compare)
	if len(known) == 0 {
		return "4.0.7577.4000"
	}
	if rng.Float64()*100 < newer {
		v := known[len(known)-1]
		for i := 3; i >= 0; i-- {
			if v[i] < 65535 {
				v[i]++
				break
			}
			v[i] = 0
		}
		return v.String()
	}
	return known[rng.IntN(len(known))].String()
}

// Check reports the first thing wrong with a fleet a person or another
// program wrote: a bad identity, version, MAC or serial, a duplicate name
// or too many phones.
func (f *Fleet) Check() error {
	if len(f.Phones) == 0 || len(f.Phones) > MaxPhones {
		return fmt.Errorf("%d phones: want 1 to %d", len(f.Phones), MaxPhones)
	}
	names := make(map[string]bool, len(f.Phones))
	for i, p := range f.Phones {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("phones[%d] %q: %s", i, p.Name, fmt.Sprintf(format, args...))
		}
		if p == nil {
			return fmt.Errorf("phones[%d]: null", i)
		}
		for _, s := range []string{p.Name, p.Identity, p.UpdateType, p.MAC, p.Serial, p.User, p.Version, p.Backup, p.Error} {
			if len(s) > fieldLimit {
				return bad("a field longer than %d bytes", fieldLimit)
			}
			if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				return bad("a control character in %q", s)
			}
		}
		if p.Name == "" || names[p.Name] {
			return bad("want a unique, non-empty name")
		}
		names[p.Name] = true
		if _, err := device.ParseIdentity(p.Identity); err != nil {
			return bad("%v", err)
		}
		if p.UpdateType == "" {
			return bad("no update type")
		}
		if _, err := device.ParseVersion(p.Version); err != nil {
			return bad("%v", err)
		}
		if p.Backup != "" {
			if _, err := device.ParseVersion(p.Backup); err != nil {
				return bad("backup: %v", err)
			}
		}
		if p.MAC != "" {
			if _, err := device.NormalizeMAC(p.MAC); err != nil {
				return bad("%v", err)
			}
		}
		if p.Serial != "" {
			if _, err := device.NormalizeSerial(p.Serial); err != nil {
				return bad("%v", err)
			}
		}
		if p.State != "" && !slices.Contains(states, p.State) {
			return bad("unknown state %q", p.State)
		}
	}
	return nil
}

// ReadFleet reads a fleet file (the JSON that WriteFleet writes).
func ReadFleet(path string) (*Fleet, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	defer fh.Close()
	f, err := DecodeFleet(fh)
	if err != nil {
		return nil, fmt.Errorf("simulate: %s: %v", path, err)
	}
	return f, nil
}

// DecodeFleet reads a fleet's JSON and checks it.
func DecodeFleet(r io.Reader) (*Fleet, error) {
	b, err := io.ReadAll(io.LimitReader(r, fleetFileLimit+1))
	if err != nil {
		return nil, err
	}
	if len(b) > fleetFileLimit {
		return nil, fmt.Errorf("larger than %d MiB", fleetFileLimit>>20)
	}
	var f Fleet
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// WriteFleet writes a fleet as JSON, atomically: a temporary file in the
// same directory, renamed over path.
func WriteFleet(path string, f *Fleet) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fleet-*")
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("simulate: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("simulate: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	return nil
}

// Accounts are the users of a fleet and the passwords their phones hold.
type Accounts struct {
	Users     []string // in file order
	passwords map[string]string
}

// Password returns the password a user's phones send.
func (a *Accounts) Password(user string) (string, bool) {
	if a == nil {
		return "", false
	}
	p, ok := a.passwords[user]
	return p, ok
}

func (a *Accounts) has(user string) bool {
	_, ok := a.passwords[user]
	return ok
}

// ParseAccounts reads accounts, one "user:password" a line; blank lines
// and lines starting with "#" are skipped. name is used in errors.
func ParseAccounts(name string, r io.Reader) (*Accounts, error) {
	a := &Accounts{passwords: make(map[string]string)}
	sc := bufio.NewScanner(io.LimitReader(r, accountsFileLimit))
	sc.Buffer(make([]byte, 0, 4096), 4096)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, pass, ok := strings.Cut(line, ":")
		switch {
		case !ok || user == "":
			return nil, fmt.Errorf("simulate: %s:%d: want user:password", name, n)
		case strings.ContainsAny(user, " \t") || len(user) > fieldLimit:
			return nil, fmt.Errorf("simulate: %s:%d: bad user name %q", name, n, user)
		case a.has(user):
			return nil, fmt.Errorf("simulate: %s:%d: user %q twice", name, n, user)
		}
		a.Users = append(a.Users, user)
		a.passwords[user] = pass
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("simulate: %s: %v", name, err)
	}
	return a, nil
}
