package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/duws/duws/builder/cab"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/store"
	"github.com/duws/duws/builder/update"
	"github.com/urfave/cli/v2"
)

var policyFlag = &cli.StringFlag{Name: "policy", Value: "policy.yaml", Usage: "the approval policy `FILE`", EnvVars: []string{"DUWS_POLICY"}}

// workspace is a loaded policy and the store beside it.
type workspace struct {
	path  string
	doc   *policy.Doc
	store *store.Store
}

func loadWorkspace(path string) (*workspace, error) {
	doc, err := policy.Load(path)
	if err != nil {
		return nil, err
	}
	dir := doc.Policy().Packages
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(path), dir)
	}
	return &workspace{path: path, doc: doc, store: &store.Store{Dir: dir}}, nil
}

// check verifies that every version the policy names is in the store.
func (w *workspace) check() (*update.Catalog, error) {
	cat, err := update.ScanStore(w.store)
	if err != nil {
		return nil, err
	}
	if err := w.doc.Policy().CheckVersions(cat.Versions); err != nil {
		return nil, w.store.ExplainMissing(err)
	}
	return cat, nil
}

func (w *workspace) save() error {
	b, err := w.doc.Bytes()
	if err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(w.path); err == nil {
		perm = fi.Mode().Perm()
	}
	return policy.WriteFile(w.path, b, perm)
}

func policyCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:      "import",
			Usage:     "import update packages (UCUpdates.cab or UCUpdates.exe); new versions become pending",
			ArgsUsage: "FILE...",
			Flags:     []cli.Flag{policyFlag},
			Action: func(c *cli.Context) error {
				if c.NArg() == 0 {
					return usageErrorf("import: no package given")
				}
				return runImport(c.App.Writer, c.String("policy"), c.Args().Slice())
			},
		},
		{
			Name:  "rules",
			Usage: "list the rules with their versions and state",
			Flags: []cli.Flag{policyFlag, &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
			Action: func(c *cli.Context) error {
				return runRules(c.App.Writer, c.String("policy"), c.Bool("json"))
			},
		},
		lifecycleCommand("approve", "make the pending version the approved one (the old approved is kept to restore)"),
		lifecycleCommand("reset", "clear the pending version: test devices go back to the approved one"),
		lifecycleCommand("restore", "roll back: the restore version becomes the approved one"),
		lifecycleCommand("remove", "delete rules"),
		testDeviceCommand(),
		{
			Name:  "clean",
			Usage: "delete packages no rule refers to any more",
			Flags: []cli.Flag{policyFlag, &cli.BoolFlag{Name: "dry-run", Usage: "say what would be deleted"}},
			Action: func(c *cli.Context) error {
				return runClean(c.App.Writer, c.String("policy"), c.Bool("dry-run"))
			},
		},
		{
			Name:  "validate",
			Usage: "check the policy and that every version it names is in a stored package",
			Flags: []cli.Flag{policyFlag},
			Action: func(c *cli.Context) error {
				w, err := loadWorkspace(c.String("policy"))
				if err != nil {
					return err
				}
				if _, err := w.check(); err != nil {
					return err
				}
				return reportValidate(c.App.Writer, c.App.ErrWriter, w.path, w.doc.Policy(), w.store.Dir)
			},
		},
	}
}

// pendingImport is a checked package waiting to be stored.
type pendingImport struct {
	file string
	r    *cab.ReadCloser
	pkg  *update.Package
}

func runImport(stdout io.Writer, policyPath string, files []string) error {
	w, err := loadWorkspace(policyPath)
	if err != nil {
		return err
	}
	// Check every package in full before storing anything.
	var todo []pendingImport
	defer func() {
		for _, p := range todo {
			p.r.Close()
		}
	}()
	var problems []string
	for _, file := range files {
		r, err := cab.OpenReader(file)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if len(r.Cabinets) > 1 || r.Cabinets[0].Next != "" || r.Cabinets[0].Prev != "" {
			r.Close()
			problems = append(problems, fmt.Sprintf("%s: a multi-cabinet set; import takes a single cabinet", file))
			continue
		}
		pkg, err := update.ReadCabinet(&r.Reader, file)
		if err != nil {
			r.Close()
			problems = append(problems, err.Error())
			continue
		}
		todo = append(todo, pendingImport{file: file, r: r, pkg: pkg})
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing imported:\n%s", strings.Join(problems, "\n"))
	}
	// Try the policy edits first, on the Doc only: an edit that fails
	// (a rule id clash) stops the import before anything is written.
	// Several versions of one rule in one run: the newest becomes
	// pending, whatever order the files were named in.
	type imported struct {
		file string
		u    update.Update
	}
	var all []imported
	for _, p := range todo {
		for _, u := range p.pkg.Updates {
			all = append(all, imported{p.file, u})
		}
	}
	slices.SortStableFunc(all, func(a, b imported) int { return a.u.Version.Compare(b.u.Version) })
	var lines []string
	changed := false
	for _, im := range all {
		u := im.u
		ch, desc, err := w.doc.ImportVersion(u.RuleID, u.Identity, u.UpdateType, u.Version)
		if err != nil {
			return fmt.Errorf("nothing imported: %s: %w", im.file, err)
		}
		changed = changed || ch
		lines = append(lines, "  "+desc)
	}
	// Store the cabinets, then write the policy: an interruption between
	// the two leaves a package no rule refers to yet, which a second
	// import adopts and clean removes.
	for _, p := range todo {
		c := p.r.Cabinets[0]
		f, err := os.Open(p.file)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		size := min(c.Size, fi.Size()-c.Offset)
		name, created, err := w.store.Put(io.NewSectionReader(f, c.Offset, size))
		f.Close()
		if err != nil {
			return fmt.Errorf("storing %s: %w", p.file, err)
		}
		verb := "stored"
		if !created {
			verb = "already stored"
		}
		how := ""
		if c.Offset > 0 {
			how = fmt.Sprintf(" (the cabinet found at offset %d)", c.Offset)
		}
		fmt.Fprintf(stdout, "%s: %s as %s%s, %d update(s)\n", p.file, verb, filepath.Join(w.store.Dir, name), how, len(p.pkg.Updates))
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	if !changed {
		fmt.Fprintf(stdout, "%s unchanged\n", w.path)
		return nil
	}
	if err := w.save(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s updated\n", w.path)
	return nil
}

// ruleState says where a rule stands, in the words of the original
// Control Panel's Pending Updates and Deployed Updates tabs.
func ruleState(r *policy.Rule) string {
	switch {
	case r.Pending != nil:
		return "pending"
	case r.Approved != nil:
		return "approved"
	}
	return "none"
}

func verString(v *policy.Version) string {
	if v == nil {
		return "-"
	}
	return v.String()
}

type ruleJSON struct {
	ID             string `json:"id"`
	Identity       string `json:"identity"`
	UpdateType     string `json:"update_type"`
	Approved       string `json:"approved,omitempty"`
	Pending        string `json:"pending,omitempty"`
	Restore        string `json:"restore,omitempty"`
	AllowDowngrade bool   `json:"allow_downgrade,omitempty"`
	State          string `json:"state"`
	Note           string `json:"note,omitempty"`
}

func runRules(stdout io.Writer, policyPath string, asJSON bool) error {
	w, err := loadWorkspace(policyPath)
	if err != nil {
		return err
	}
	p := w.doc.Policy()
	if asJSON {
		out := []ruleJSON{}
		opt := func(v *policy.Version) string {
			if v == nil {
				return ""
			}
			return v.String()
		}
		for i := range p.Rules {
			r := &p.Rules[i]
			out = append(out, ruleJSON{r.ID, r.Identity.String(), r.UpdateType, opt(r.Approved), opt(r.Pending), opt(r.Restore), r.AllowDowngrade, ruleState(r), r.Note})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tIDENTITY\tTYPE\tAPPROVED\tPENDING\tRESTORE\tSTATE")
	for i := range p.Rules {
		r := &p.Rules[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID[:8], r.Identity, r.UpdateType, verString(r.Approved), verString(r.Pending), verString(r.Restore), ruleState(r))
	}
	return tw.Flush()
}

func lifecycleCommand(name, usage string) *cli.Command {
	flags := []cli.Flag{policyFlag, &cli.BoolFlag{Name: "dry-run", Usage: "print the change instead of writing it"}}
	if name == "restore" {
		flags = append(flags, &cli.BoolFlag{Name: "force", Usage: "with no restore version, clear the approved version"})
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "SELECTOR... (a rule id, an unambiguous id prefix, or an identity pattern such as UCPhone/Polycom/CX600/*/ENU)",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageErrorf("%s: no rule selected", name)
			}
			return runLifecycle(c.App.Writer, c.String("policy"), name, c.Args().Slice(), c.Bool("dry-run"), c.Bool("force"))
		},
	}
}

func runLifecycle(stdout io.Writer, policyPath, op string, selectors []string, dryRun, force bool) error {
	w, err := loadWorkspace(policyPath)
	if err != nil {
		return err
	}
	rules, err := w.doc.Select(selectors...)
	if err != nil {
		return err
	}
	var descs, skipped []string
	var errs []error
	for _, r := range rules {
		var desc string
		var err error
		switch op {
		case "approve":
			desc, err = w.doc.Approve(r.ID)
		case "reset":
			desc, err = w.doc.Reset(r.ID)
		case "restore":
			desc, err = w.doc.Restore(r.ID, force)
		case "remove":
			desc, err = w.doc.Remove(r.ID)
		}
		if err != nil {
			// A pattern may select rules the operation does not apply
			// to; those are skipped, and only a selection where nothing
			// applies is an error.
			if len(rules) > 1 && (errors.Is(err, policy.ErrNothingPending) || errors.Is(err, policy.ErrNoRestore)) {
				skipped = append(skipped, fmt.Sprintf("skipped %s: %v", r, errors.Unwrap(err)))
				continue
			}
			errs = append(errs, err)
			continue
		}
		descs = append(descs, desc)
	}
	if len(errs) > 0 {
		return fmt.Errorf("nothing changed: %w", errors.Join(errs...))
	}
	if len(descs) == 0 {
		return fmt.Errorf("nothing changed: no selected rule has anything to %s\n%s", op, strings.Join(skipped, "\n"))
	}
	for _, s := range skipped {
		fmt.Fprintln(stdout, s)
	}
	if dryRun {
		for _, d := range descs {
			fmt.Fprintln(stdout, wouldDo(d))
		}
		fmt.Fprintf(stdout, "dry run: %s not written\n", w.path)
		return nil
	}
	if op != "remove" {
		// The edits may not name a version no package provides.
		if _, err := w.check(); err != nil {
			return fmt.Errorf("nothing changed: %w", err)
		}
	}
	if err := w.save(); err != nil {
		return err
	}
	for _, d := range descs {
		fmt.Fprintln(stdout, d)
	}
	return nil
}

func testDeviceCommand() *cli.Command {
	return &cli.Command{
		Name:  "test-device",
		Usage: "name the devices that get pending updates first",
		Subcommands: []*cli.Command{
			{
				Name:  "add",
				Usage: "add a test device",
				Flags: []cli.Flag{policyFlag,
					&cli.StringFlag{Name: "name", Required: true, Usage: "a `NAME` for people"},
					&cli.StringFlag{Name: "mac", Usage: "the device's MAC address"},
					&cli.StringFlag{Name: "serial", Usage: "the device's serial number"},
					&cli.StringFlag{Name: "site", Value: policy.ScopeGlobal, Usage: "`global`, or the topology site where the device tests"},
				},
				Action: func(c *cli.Context) error {
					if (c.String("mac") == "") == (c.String("serial") == "") {
						return usageErrorf("test-device add: give one of --mac and --serial")
					}
					return editPolicy(c, func(d *policy.Doc) (string, error) {
						return d.AddTestDevice(policy.TestDevice{Name: c.String("name"), MAC: c.String("mac"), Serial: c.String("serial"), Scope: c.String("site")})
					})
				},
			},
			{
				Name:      "remove",
				Usage:     "remove a test device",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{policyFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErrorf("test-device remove: give one name")
					}
					return editPolicy(c, func(d *policy.Doc) (string, error) {
						return d.RemoveTestDevice(c.Args().First())
					})
				},
			},
			{
				Name:  "list",
				Usage: "list the test devices",
				Flags: []cli.Flag{policyFlag},
				Action: func(c *cli.Context) error {
					w, err := loadWorkspace(c.String("policy"))
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tMAC\tSERIAL\tSCOPE")
					for _, td := range w.doc.Policy().TestDevices {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", td.Name, orDash(td.MAC), orDash(td.Serial), td.Scope)
					}
					return tw.Flush()
				},
			},
		},
	}
}

// editPolicy loads the policy, makes one edit, writes the policy back
// atomically and says what changed.
func editPolicy(c *cli.Context, edit func(*policy.Doc) (string, error)) error {
	w, err := loadWorkspace(c.String("policy"))
	if err != nil {
		return err
	}
	desc, err := edit(w.doc)
	if err != nil {
		return err
	}
	if err := w.save(); err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, desc)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runClean(stdout io.Writer, policyPath string, dryRun bool) error {
	w, err := loadWorkspace(policyPath)
	if err != nil {
		return err
	}
	cat, err := update.ScanStore(w.store)
	if err != nil {
		return err
	}
	used := cat.Referenced(w.doc.Policy())
	var unused []update.Stored
	for _, p := range cat.Packages {
		if !used[p.Name] {
			unused = append(unused, p)
		}
	}
	left, err := w.store.Leftovers()
	if err != nil {
		return err
	}
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	for _, p := range unused {
		if !dryRun {
			if err := w.store.Remove(p.Name); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "%s %s (%s)\n", verb, w.store.Path(p.Name), strings.Join(p.Summary(), "; "))
	}
	for _, name := range left {
		if !dryRun {
			if err := os.Remove(filepath.Join(w.store.Dir, name)); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "%s %s (left by an interrupted import)\n", verb, filepath.Join(w.store.Dir, name))
	}
	if len(unused)+len(left) == 0 {
		fmt.Fprintln(stdout, "nothing to clean: every package is referenced")
	}
	return nil
}
