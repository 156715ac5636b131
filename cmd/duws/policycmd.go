package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/workspace"
	"github.com/urfave/cli/v2"
)

// policyFlag is the policy file flag, made afresh for each app: a flag
// object keeps the value of the run that parsed it.
func policyFlag() cli.Flag {
	return &cli.StringFlag{Name: "policy", Value: "policy.yaml", Usage: "the approval policy `FILE`", EnvVars: []string{"DUWS_POLICY"}}
}

// loadWorkspace opens the policy at path and the store beside it.
func loadWorkspace(path string) (*workspace.Workspace, error) { return workspace.Open(path) }

func policyCommands() []*cli.Command {
	return []*cli.Command{
		importCommand(),
		{
			Name:  "rules",
			Usage: "list the rules with their versions and state",
			Flags: []cli.Flag{policyFlag(), &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
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
			Flags: []cli.Flag{policyFlag(), &cli.BoolFlag{Name: "dry-run", Usage: "say what would be deleted"}},
			Action: func(c *cli.Context) error {
				return runClean(c.App.Writer, c.String("policy"), c.Bool("dry-run"))
			},
		},
		{
			Name:  "validate",
			Usage: "check the policy and that every version it names is in a stored package",
			Flags: []cli.Flag{policyFlag()},
			Action: func(c *cli.Context) error {
				w, err := loadWorkspace(c.String("policy"))
				if err != nil {
					return err
				}
				if _, err := w.Check(); err != nil {
					return err
				}
				return reportValidate(c.App.Writer, c.App.ErrWriter, w.Path, w.Doc.Policy(), w.Store.Dir)
			},
		},
	}
}

func runImport(stdout io.Writer, policyPath string, files []string, onConflict policy.IDConflict) error {
	w, err := loadWorkspace(policyPath)
	if err != nil {
		return err
	}
	w.OnIDConflict = onConflict
	rep, err := w.Import(files)
	for _, p := range rep.Packages {
		verb := "stored"
		if !p.Created {
			verb = "already stored"
		}
		how := ""
		if p.Offset > 0 {
			how = fmt.Sprintf(" (the cabinet found at offset %d)", p.Offset)
		}
		fmt.Fprintf(stdout, "%s: %s as %s%s, %d update(s)\n", p.File, verb, p.Path, how, p.Updates)
	}
	for _, l := range rep.Edits {
		fmt.Fprintln(stdout, "  "+l)
	}
	if err != nil {
		return err
	}
	if !rep.Changed {
		fmt.Fprintf(stdout, "%s unchanged\n", w.Path)
		return nil
	}
	fmt.Fprintf(stdout, "%s updated\n", w.Path)
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
	ID         string `json:"id"`
	Identity   string `json:"identity"`
	UpdateType string `json:"update_type"`
	Approved   string `json:"approved,omitempty"`
	Pending    string `json:"pending,omitempty"`
	Restore    string `json:"restore,omitempty"`
	KeepNewer  bool   `json:"keep_newer"`
	State      string `json:"state"`
	Note       string `json:"note,omitempty"`
}

func runRules(stdout io.Writer, policyPath string, asJSON bool) error {
	w, err := loadWorkspace(policyPath)
	if err != nil {
		return err
	}
	p := w.Doc.Policy()
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
			out = append(out, ruleJSON{r.ID, r.Identity.String(), r.UpdateType, opt(r.Approved), opt(r.Pending), opt(r.Restore), p.KeepsNewer(r), ruleState(r), r.Note})
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
	flags := []cli.Flag{policyFlag(), &cli.BoolFlag{Name: "dry-run", Usage: "print the change instead of writing it"}}
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
	rules, err := w.Doc.Select(selectors...)
	if err != nil {
		return err
	}
	descs, skipped, err := applyLifecycle(w.Doc, op, rules, force)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintln(stdout, s)
	}
	if dryRun {
		for _, d := range descs {
			fmt.Fprintln(stdout, wouldDo(d))
		}
		fmt.Fprintf(stdout, "dry run: %s not written\n", w.Path)
		return nil
	}
	if op != "remove" {
		// The edits may not name a version no package provides.
		if _, err := w.Check(); err != nil {
			return fmt.Errorf("nothing changed: %w", err)
		}
	}
	if err := w.Save(); err != nil {
		return err
	}
	for _, d := range descs {
		fmt.Fprintln(stdout, d)
	}
	return nil
}

// applyLifecycle makes the edit op on each selected rule, in the Doc only,
// and returns what changed and what was skipped.
func applyLifecycle(doc *policy.Doc, op string, rules []*policy.Rule, force bool) (descs, skipped []string, err error) {
	var errs []error
	for _, r := range rules {
		var desc string
		var err error
		switch op {
		case "approve":
			desc, err = doc.Approve(r.ID)
		case "reset":
			desc, err = doc.Reset(r.ID)
		case "restore":
			desc, err = doc.Restore(r.ID, force)
		case "remove":
			desc, err = doc.Remove(r.ID)
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
		return nil, nil, fmt.Errorf("nothing changed: %w", errors.Join(errs...))
	}
	if len(descs) == 0 {
		return nil, nil, fmt.Errorf("nothing changed: no selected rule has anything to %s\n%s", op, strings.Join(skipped, "\n"))
	}
	return descs, skipped, nil
}

func testDeviceCommand() *cli.Command {
	return &cli.Command{
		Name:  "test-device",
		Usage: "name the devices that get pending updates first",
		Subcommands: []*cli.Command{
			{
				Name:  "add",
				Usage: "add a test device",
				Flags: []cli.Flag{policyFlag(),
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
				Flags:     []cli.Flag{policyFlag()},
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
				Flags: []cli.Flag{policyFlag()},
				Action: func(c *cli.Context) error {
					w, err := loadWorkspace(c.String("policy"))
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tMAC\tSERIAL\tSCOPE")
					for _, td := range w.Doc.Policy().TestDevices {
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
	desc, err := edit(w.Doc)
	if err != nil {
		return err
	}
	if err := w.Save(); err != nil {
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
	done, err := w.Clean(dryRun)
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	for _, c := range done {
		fmt.Fprintf(stdout, "%s %s (%s)\n", verb, c.Path, c.Why)
	}
	if err != nil {
		return err
	}
	if len(done) == 0 {
		fmt.Fprintln(stdout, "nothing to clean: every package is referenced")
	}
	return nil
}

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "import update packages (UCUpdates.cab or UCUpdates.exe); new versions become pending",
		ArgsUsage: "FILE...",
		Flags: []cli.Flag{policyFlag(),
			&cli.BoolFlag{Name: "keep-policy-id", Usage: "when a package names another rule id than the policy holds for the same device, keep the policy's"},
			&cli.BoolFlag{Name: "adopt-package-id", Usage: "when a package names another rule id than the policy holds for the same device, change the rule's id to the package's"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageErrorf("import: no package given")
			}
			var onConflict policy.IDConflict
			switch {
			case c.Bool("keep-policy-id") && c.Bool("adopt-package-id"):
				return usageErrorf("import: give --keep-policy-id or --adopt-package-id, not both")
			case c.Bool("keep-policy-id"):
				onConflict = policy.KeepPolicyID
			case c.Bool("adopt-package-id"):
				onConflict = policy.AdoptPackageID
			}
			return runImport(c.App.Writer, c.String("policy"), c.Args().Slice(), onConflict)
		},
	}
}
