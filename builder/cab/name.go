package cab

import (
	"fmt"
	"strings"
)

// windowsDevices are names Windows treats as devices in any directory
// and with any extension; creating them writes to the device.
var windowsDevices = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

// ValidName reports whether name (as in [FileHeader.Name], with "/"
// separators) is safe to create below a directory on any system. It
// returns an error wrapping [ErrInsecurePath] for an empty or absolute
// name, a ".." or "." element, an empty element, a drive letter or other
// colon, a UNC or device prefix, a Windows device name, or a control
// character.
func ValidName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s: %q", ErrInsecurePath, why, name)
	}
	if name == "" {
		return bad("empty name")
	}
	if strings.HasPrefix(name, "/") {
		return bad("absolute path")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return bad("control character")
		}
		if c == ':' {
			return bad("drive letter or stream name")
		}
	}
	for _, el := range strings.Split(name, "/") {
		switch el {
		case "":
			return bad("empty path element")
		case ".", "..":
			return bad(fmt.Sprintf("%q path element", el))
		}
		base := strings.ToUpper(strings.TrimRight(el, ". "))
		if i := strings.IndexByte(base, '.'); i >= 0 {
			base = base[:i]
		}
		if windowsDevices[strings.TrimSpace(base)] {
			return bad("device name")
		}
		if strings.TrimRight(el, ". ") == "" {
			return bad("element of dots and spaces")
		}
	}
	return nil
}
