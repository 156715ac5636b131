package policy

import "github.com/duws/duws/builder/device"

// Version is a firmware version; see [device.Version].
type Version = device.Version

// ParseVersion parses a version; see [device.ParseVersion].
func ParseVersion(s string) (Version, error) { return device.ParseVersion(s) }

// NormalizeMAC checks and normalises a MAC address; see [device.NormalizeMAC].
func NormalizeMAC(s string) (string, error) { return device.NormalizeMAC(s) }

// NormalizeSerial checks and normalises a serial number; see
// [device.NormalizeSerial].
func NormalizeSerial(s string) (string, error) { return device.NormalizeSerial(s) }
