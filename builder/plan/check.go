package plan

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/site"
)

// ErrInvariant is wrapped by every broken build-time invariant: a plan
// that breaks one is a bug, and nothing is written.
var ErrInvariant = errors.New("build invariant broken")

// check verifies the plan's invariants:
//   - every URL in an answer resolves to a file of the tree whose size and
//     hash are those of the package file, and the answer's own figures
//     agree;
//   - no answer offers a file of another device identity or update type
//     than the lookup it is reached from;
//   - an answer offering an older version than the device reports is
//     reached only where keep_newer is not in effect for the rule.
func (p *Plan) check() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvariant}, args...)...))
	}
	answers := map[string]*site.ParsedAnswer{}
	parse := func(name string) *site.ParsedAnswer {
		if a, ok := answers[name]; ok {
			return a
		}
		o, ok := p.Files[name]
		if !ok || o.Data == nil {
			bad("answer %s is not in the tree", name)
			answers[name] = nil
			return nil
		}
		a, err := site.ParseAnswer(o.Data)
		if err != nil {
			bad("answer %s does not parse: %v", name, err)
			answers[name] = nil
			return nil
		}
		if want := fmt.Sprintf("downloads=%d", len(a.Updates)); a.Status != want {
			bad("answer %s: status %q with %d updates", name, a.Status, len(a.Updates))
		}
		for _, u := range a.Updates {
			for i, base := range []string{p.Policy.Service.InternalURL, p.Policy.Service.ExternalURL} {
				prefix := strings.TrimRight(base, "/") + "/" + []string{site.InternalFilesPrefix, site.ExternalFilesPrefix}[i] + "/"
				link := []string{u.InternalURL, u.ExternalURL}[i]
				rest, ok := strings.CutPrefix(link, prefix)
				if !ok {
					bad("answer %s: URL %q is not under %q", name, link, prefix)
					continue
				}
				dir, err := url.PathUnescape(rest)
				if err != nil {
					bad("answer %s: URL %q: %v", name, link, err)
					continue
				}
				for _, f := range u.Files {
					tp := path.Join(site.FilesDir, dir, f.Name)
					o, ok := p.Files[tp]
					switch {
					case !ok:
						bad("answer %s: %s/%s is not in the tree", name, link, f.Name)
					case o.Source == nil:
						bad("answer %s: %s is not a package file", name, tp)
					case o.SHA256 != f.SHA256 || o.Size != f.Size:
						bad("answer %s: %s is %d bytes %s in the tree, the answer says %d bytes %s", name, tp, o.Size, o.SHA256, f.Size, f.SHA256)
					}
				}
			}
		}
		answers[name] = a
		return a
	}
	if parse(p.Manifest.NoUpdate) != nil && len(answers[p.Manifest.NoUpdate].Updates) != 0 {
		bad("the no-update answer offers updates")
	}
	// What each answer offers, worked out once per answer.
	type offer struct {
		identity, updateType, dirType, dir string
		version                            policy.Version
		badVersion                         error
	}
	offers := map[string][]offer{}
	offersOf := func(answer string) []offer {
		if o, ok := offers[answer]; ok {
			return o
		}
		var out []offer
		if a := parse(answer); a != nil {
			for _, u := range a.Updates {
				dir, _ := url.PathUnescape(u.InternalURL)
				o := offer{updateType: u.UpdateType, dir: dir}
				if segs := strings.Split(dir, "/"); len(segs) >= 7 {
					o.identity = strings.Join(segs[len(segs)-7:len(segs)-2], "/")
					o.dirType = segs[len(segs)-1]
				}
				o.version, o.badVersion = policy.ParseVersion(u.Version)
				out = append(out, o)
			}
		}
		offers[answer] = out
		return out
	}
	parsed := map[string]policy.Version{} // reported versions, parsed once
	version := func(s string) (policy.Version, error) {
		if v, ok := parsed[s]; ok {
			return v, nil
		}
		v, err := policy.ParseVersion(s)
		if err == nil {
			parsed[s] = v
		}
		return v, err
	}
	for _, lp := range p.Lookups {
		r := lp.Rule
		downgrade := !p.Policy.KeepsNewer(&r)
		for _, aud := range []site.Audience{site.Production, site.Test} {
			t := lp.Lookup.For(aud)
			// What each answer of the table offers, checked once for the
			// identity; then each version reaching it for downgrades.
			tableOffers := make([][]offer, len(t.Answers))
			for i, answer := range t.Answers {
				tableOffers[i] = offersOf(answer)
				for _, o := range tableOffers[i] {
					if !strings.EqualFold(o.identity, lp.Lookup.Identity) || !strings.EqualFold(o.updateType, lp.Lookup.UpdateType) || !strings.EqualFold(o.dirType, lp.Lookup.UpdateType) {
						bad("%s (%s): answer %s offers %s, an update of another identity or type", lp.Path, aud, answer, o.dir)
					}
					if o.badVersion != nil {
						bad("%s: answer %s: %v", lp.Path, answer, o.badVersion)
					}
				}
			}
			offered := func(reported string, i int) {
				if i < 0 || i >= len(t.Answers) {
					bad("%s (%s): answer index %d for %s out of range", lp.Path, aud, i, reported)
					return
				}
				if downgrade {
					return
				}
				for _, o := range tableOffers[i] {
					if o.badVersion != nil {
						continue
					}
					switch reported {
					case "newer":
						bad("%s (%s): devices on versions newer than %s are offered %s, and rule %s keeps newer versions", lp.Path, aud, t.Target, o.version, r.ID)
					case "older":
					default:
						rv, err := version(reported)
						if err != nil {
							bad("%s (%s): reported version %q: %v", lp.Path, aud, reported, err)
						} else if o.version.Compare(rv) < 0 {
							bad("%s (%s): devices on %s are offered the older %s, and rule %s keeps newer versions", lp.Path, aud, rv, o.version, r.ID)
						}
					}
				}
			}
			for v, i := range t.Versions {
				offered(v, i)
			}
			offered("older", t.Older)
			offered("newer", t.Newer)
		}
	}
	return errors.Join(errs...)
}
