// Package policy reads, checks and edits policy.yaml, the approval policy of
// a duws site: one rule per device update (which version is approved, which
// is pending for test devices, which is kept to restore) and the test
// devices that receive pending versions.
//
// # File format
//
// The keys of policy.yaml are documented on the fields of [Policy],
// [Service], [Network], [Rule] and [TestDevice]; testdata/full.yaml is a
// complete, commented example.
//
// # Promises
//
// [Parse] is strict and complete: unknown keys, wrong types, missing or
// duplicate keys, duplicate rules and test devices, and malformed versions,
// identities, GUIDs, MAC addresses, serial numbers, CIDRs and URLs are all
// errors, and every one of them is reported in a single [*Errors], each
// located as FILE:LINE:COL: PATH: MESSAGE. A [*Policy] returned without
// error satisfies every check, so the site builder need not repeat them;
// whether the referenced versions exist in imported packages is checked
// separately by [Policy.CheckVersions].
//
// [Doc] changes the file the way an administrator would with an editor:
// lines an operation does not touch are kept byte for byte, with their
// comments, indentation and quoting. Every edit is verified by parsing the
// result and comparing it with the intended policy; if a layout is too
// unusual to edit line by line (flow style, multi-line values in the
// wrong place), the document is re-encoded from its node tree instead,
// which keeps comments but normalises indentation. An edit that cannot be
// verified either way is refused and leaves the Doc unchanged. Package durable
// (WriteFile) replaces the file atomically.
//
// # Limits
//
// A policy is one YAML document of at most 16 MiB of UTF-8. Anchors,
// aliases and non-standard tags are rejected: a policy is meant to be read
// by people, line by line.
package policy

import (
	"fmt"
	"net/netip"
)

// Policy is a parsed policy.yaml.
type Policy struct {
	// Packages (key packages) is the directory holding the imported
	// package cabinets. A relative path is relative to the directory of
	// the policy file. Optional; defaults to "packages".
	Packages string

	// Service (key service) says where devices reach the service.
	Service Service

	// Network (key network) says which clients are inside the firewall.
	Network Network

	// KeepNewer (key keep_newer) leaves devices that run a version newer
	// than their target alone, for fleets that receive phones with newer
	// factory firmware. Off by default: as in the original service, a
	// device on any version other than its target is sent the target,
	// older or newer, which is how restore and reset bring devices back
	// and how a fleet converges. A rule's own keep_newer overrides it.
	KeepNewer bool

	// TopologySites (key topology_sites) lists the Lync topology sites
	// that test devices can be scoped to. These are sites of the Lync
	// deployment, unrelated to the static site the builder writes. Names
	// are unique (ignoring case) and "global" is reserved.
	TopologySites []string

	// Rules (key rules) holds one rule per device update, in file order.
	Rules []Rule

	// TestDevices (key test_devices) lists the devices that receive
	// pending versions, in file order.
	TestDevices []TestDevice

	file string // name used in errors from CheckVersions
}

// Service holds the base URLs of the service (key service). Both are
// optional for this package; the site builder decides whether it needs
// them. A base URL has scheme https or http, a host, optionally a port
// and a path, and no user information, query or fragment. It is kept as
// written.
type Service struct {
	// InternalURL (key internal_url) is the base URL devices use inside
	// the firewall, such as https://ucupdates-r2.contoso.com.
	InternalURL string

	// ExternalURL (key external_url) is the base URL devices use from
	// outside, such as https://ucupdates-r2.contoso.com:4443.
	ExternalURL string
}

// Network says how the responder tells inside from outside (key network).
// Prefixes are written as address/length, IPv4 or IPv6, without host bits
// set (10.0.0.0/8, not 10.1.2.3/8).
type Network struct {
	// Inside (key inside) lists the networks counted as inside the
	// firewall.
	Inside []netip.Prefix

	// TrustedProxies (key trusted_proxies) lists the peers whose
	// X-Forwarded-For header is believed.
	TrustedProxies []netip.Prefix
}

// A Rule is one device update and the versions chosen for it (an item of
// key rules). A rule is unique by ID and by Identity plus UpdateType (both
// compared ignoring case).
type Rule struct {
	// ID (key id, required) is the rule's GUID, taken from the package,
	// in canonical lower-case 8-4-4-4-12 form.
	ID string

	// Identity (key identity, required) is the kind of device, written
	// DeviceType/Brand/Model/Revision/Locale.
	Identity Identity

	// UpdateType (key update_type, required) is the kind of update, such
	// as CPE. It obeys the same rules as an identity component.
	UpdateType string

	// Approved (key approved) is the version every device is sent, or nil.
	Approved *Version

	// Pending (key pending) is the version test devices are sent instead,
	// or nil. It is never equal to Approved.
	Pending *Version

	// Restore (key restore) is the version a restore makes approved
	// again, or nil.
	Restore *Version

	// KeepNewer (key keep_newer) overrides the policy's KeepNewer for
	// this rule when set. Reset and restore write keep_newer: false on a
	// rule they move back while keep_newer is in effect for it, so that
	// the devices they take a version from are sent back.
	KeepNewer *bool

	// Note (key note) is free text for administrators.
	Note string

	pos rulePos
}

// KeepsNewer reports whether devices on a version newer than rule r's
// target are left alone: the rule's keep_newer where set, else the
// policy's.
func (p *Policy) KeepsNewer(r *Rule) bool {
	if r.KeepNewer != nil {
		return *r.KeepNewer
	}
	return p.KeepNewer
}

// String returns the identity and update type of r, as in
// "UCPhone/Polycom/CX600/A/ENU CPE", the name used in messages.
func (r Rule) String() string {
	return r.Identity.String() + " " + r.UpdateType
}

// pos is a position in the policy file, counted from 1.
type pos struct{ line, col int }

// rulePos remembers where a rule's values were, for errors found after
// parsing (see Policy.CheckVersions).
type rulePos struct {
	approved, pending, restore pos
}

// A TestDevice receives the pending version of every rule that has one
// (an item of key test_devices).
type TestDevice struct {
	// Name (key name, required) identifies the device in the policy;
	// unique, ignoring case.
	Name string

	// MAC (key mac) is the device's MAC address, normalised by
	// [NormalizeMAC]. Exactly one of mac and serial is given.
	MAC string

	// Serial (key serial) is the device's serial number, normalised by
	// [NormalizeSerial].
	Serial string

	// Scope (key scope) is "global" (the default) or the name of one of
	// the topology sites, where the device takes part in testing.
	Scope string
}

// DefaultPackages is the packages directory of a policy that names none.
const DefaultPackages = "packages"

// CheckVersions checks that every version a rule refers to (approved,
// pending or restore) is provided by an imported package, as reported by
// available for the rule. Problems are reported like those of [Parse], at
// the position of the version in the parsed file.
func (p *Policy) CheckVersions(available func(ruleID string, identity Identity, updateType string) []Version) error {
	var errs []Error
	for i, r := range p.Rules {
		have := available(r.ID, r.Identity, r.UpdateType)
		check := func(key string, v *Version, at pos) {
			if v == nil {
				return
			}
			for _, w := range have {
				if w == *v {
					return
				}
			}
			errs = append(errs, Error{
				File: p.file, Line: max(at.line, 1), Col: max(at.col, 1),
				Path: fmt.Sprintf("rules[%d].%s", i, key),
				Msg:  fmt.Sprintf("version %s of %q is in no imported package", v, r.String()),
			})
		}
		check("approved", r.Approved, r.pos.approved)
		check("pending", r.Pending, r.pos.pending)
		check("restore", r.Restore, r.pos.restore)
	}
	return sorted(errs)
}
