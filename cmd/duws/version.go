package main

import (
	"runtime/debug"
	"strings"
)

// versionString is what duws --version prints after "duws version": the
// module version (a tag with go install …@vX, "(devel)" from a clone) and
// the VCS revision the binary was built from, when Go recorded one.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information in the binary)"
	}
	return formatVersion(bi)
}

func formatVersion(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var extra []string
	if rev != "" {
		r := "revision " + rev
		if modified {
			r += " with uncommitted changes"
		}
		extra = append(extra, r)
	}
	if when != "" {
		extra = append(extra, "committed "+when)
	}
	extra = append(extra, bi.GoVersion)
	return v + " (" + strings.Join(extra, ", ") + ")"
}
