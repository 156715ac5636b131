package policy

import "github.com/duws/duws/builder/device"

// The device vocabulary is defined in package device; these names keep
// the policy's API whole.

// Identity names a kind of device; see [device.Identity].
type Identity = device.Identity

// ParseIdentity parses DeviceType/Brand/Model/Revision/Locale; see
// [device.ParseIdentity].
func ParseIdentity(s string) (Identity, error) { return device.ParseIdentity(s) }

// ScopeGlobal is the scope of a test device that tests everywhere; see
// [device.ScopeGlobal].
const ScopeGlobal = device.ScopeGlobal

// CanonicalID checks a rule GUID and returns its canonical form; see
// [device.CanonicalRuleID].
func CanonicalID(s string) (string, error) { return device.CanonicalRuleID(s) }

// componentProblem and hasControl are [device.ComponentProblem] and
// [device.HasControl].
func componentProblem(s string) string { return device.ComponentProblem(s) }
func hasControl(s string) bool         { return device.HasControl(s) }

// Version is a firmware version; see [device.Version].
type Version = device.Version

// ParseVersion parses a version; see [device.ParseVersion].
func ParseVersion(s string) (Version, error) { return device.ParseVersion(s) }

// NormalizeMAC checks and normalises a MAC address; see [device.NormalizeMAC].
func NormalizeMAC(s string) (string, error) { return device.NormalizeMAC(s) }

// NormalizeSerial checks and normalises a serial number; see
// [device.NormalizeSerial].
func NormalizeSerial(s string) (string, error) { return device.NormalizeSerial(s) }
