package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/publish"
	"github.com/duws/duws/builder/site"
	"github.com/duws/duws/builder/workspace"
	"github.com/urfave/cli/v2"
)

// outFlag is the site directory flag, made afresh for each app: a flag
// object keeps the value of the run that parsed it.
func outFlag() cli.Flag {
	return &cli.StringFlag{Name: "out", Value: "site", Usage: "the site `DIR` holding the trees and the current link"}
}

func buildCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:  "build",
			Usage: "build the static tree from the policy and its packages, and publish it",
			Flags: []cli.Flag{policyFlag(), outFlag(),
				&cli.IntFlag{Name: "keep", Value: 5, Usage: "published trees to keep besides the live one (trees live in the last 10 minutes, and trees never published, are kept whatever this says)"},
				&cli.StringFlag{Name: "sign", Usage: "sign the manifest with the private `KEY` file (from duws keygen)"},
				&cli.BoolFlag{Name: "no-publish", Usage: "write the tree but leave the live one live"},
				&cli.BoolFlag{Name: "allow-empty", Usage: "build even with no rules or no packages directory (a tree that tells every phone downloads=0)"},
				&cli.BoolFlag{Name: "allow-relative-urls", Usage: "build even when service.internal_url or external_url is not set (answers phones cannot use)"},
			},
			Action: func(c *cli.Context) error {
				return runBuild(c.App.Writer, buildOptions{
					policy: c.String("policy"), out: c.String("out"), keep: c.Int("keep"),
					sign: c.String("sign"), publish: !c.Bool("no-publish"),
					allowEmpty: c.Bool("allow-empty"), allowRelativeURLs: c.Bool("allow-relative-urls"),
				})
			},
		},
		{
			Name:      "publish",
			Usage:     "make a built tree live, or go back to the previous one",
			ArgsUsage: "[TREE-ID or a unique prefix]",
			Flags:     []cli.Flag{outFlag(), &cli.BoolFlag{Name: "revert", Usage: "make the previously published tree live again"}},
			Action:    runPublish,
		},
		{
			Name:      "verify",
			Usage:     "check a tree against its manifest and signature",
			ArgsUsage: "DIR",
			Flags:     []cli.Flag{&cli.StringFlag{Name: "key", Usage: "the public `KEY` file the manifest must be signed with"}},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usageErrorf("verify: give one directory")
				}
				return runVerify(c.App.Writer, c.Args().First(), c.String("key"))
			},
		},
		{
			Name:  "keygen",
			Usage: "make an Ed25519 key pair for signing manifests",
			Flags: []cli.Flag{&cli.StringFlag{Name: "out", Usage: "write `PREFIX`.key and PREFIX.pub (default: the private key in your configuration directory, ~/.config/duws/duws.key, and duws.pub here)"}},
			Action: func(c *cli.Context) error {
				return runKeygen(c.App.Writer, c.String("out"))
			},
		},
		planCommand(),
	}
}

func runPublish(c *cli.Context) error {
	w := &publish.Writer{Dir: c.String("out"), Keep: 1 << 20}
	if c.Bool("revert") {
		if c.NArg() > 0 {
			return usageErrorf("publish: --revert takes no tree id")
		}
		id, err := w.Revert()
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "reverted: %s is live\n", id)
		return nil
	}
	if c.NArg() != 1 {
		return usageErrorf("publish: give a tree id (or a unique prefix of one), or --revert")
	}
	id, err := w.Resolve(c.Args().First())
	if err != nil {
		return err
	}
	if cur, _ := w.Current(); cur == id {
		fmt.Fprintf(c.App.Writer, "%s is live already: nothing to change\n", id)
		return nil
	}
	if err := w.Publish(id); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "published: %s is live\n", id)
	return nil
}

type buildOptions struct {
	policy, out, sign string
	keep              int
	publish           bool

	allowEmpty, allowRelativeURLs bool // see buildPreflight
}

// buildMemoryLimit is the soft memory limit of duws build and plan. A build
// keeps its input and its plan in memory at once; without a limit the
// collector lets the heap grow to twice what is live before collecting.
// The live heap of a 10,000-rule fleet is well under this, so the limit
// costs little time.
const buildMemoryLimit = 448 << 20 // 448 MiB

// limitMemory sets the runtime's soft memory limit to buildMemoryLimit,
// unless GOMEMLIMIT sets another, as serve sets the collector's pace.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(buildMemoryLimit)
	}
}

func loadPlan(policyPath string) (*plan.Plan, *workspace.Sources, error) {
	limitMemory() // for the rest of the command
	src := &workspace.Sources{PolicyPath: policyPath}
	in, err := src.Load(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return nil, nil, err
	}
	p, err := plan.MakePlan(in)
	if err != nil {
		return nil, nil, err
	}
	return p, src, nil
}

func runBuild(stdout io.Writer, o buildOptions) error {
	p, src, err := loadPlan(o.policy)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := buildPreflight(o.policy, p.Policy, src.Store.Dir, o); err != nil {
		return err
	}
	w := &publish.Writer{Dir: o.out, Keep: o.keep, Open: src.Open}
	if o.sign != "" {
		b, err := os.ReadFile(o.sign)
		if err != nil {
			return err
		}
		priv, err := publish.ParsePrivateKey(b)
		if err != nil {
			return fmt.Errorf("%s: %w", o.sign, err)
		}
		w.Sign = publish.Signer(priv)
	}
	st, err := w.Write(p)
	if err != nil {
		return err
	}
	switch {
	case st.Signed:
		fmt.Fprintf(stdout, "tree %s already built; signed it now (%s)\n", st.ID, site.SignatureName)
	case st.Reused:
		fmt.Fprintf(stdout, "tree %s already built\n", st.ID)
	default:
		fmt.Fprintf(stdout, "built tree %s: %d files (%d written, %d linked from earlier trees, %d shared already), %d lookup tables\n",
			st.ID, len(p.Manifest.Files), st.Written, st.Linked, st.Skipped, len(p.Lookups))
	}
	if !o.publish {
		return nil
	}
	if cur, _ := w.Current(); cur == st.ID {
		fmt.Fprintf(stdout, "%s is live already\n", st.ID)
		return nil
	}
	if err := w.Publish(st.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published: %s is live\n", filepath.Join(o.out, "current"))
	return nil
}

func runVerify(stdout io.Writer, dir, keyPath string) error {
	var pub []byte
	if keyPath != "" {
		var err error
		if pub, err = os.ReadFile(keyPath); err != nil {
			return err
		}
	}
	var diffs []string
	var err error
	if pub != nil {
		k, perr := publish.ParsePublicKey(pub)
		if perr != nil {
			return fmt.Errorf("%s: %w", keyPath, perr)
		}
		diffs, err = publish.Verify(dir, k)
	} else {
		diffs, err = publish.Verify(dir, nil)
	}
	if err != nil {
		return err
	}
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
	}
	if len(diffs) > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: %d difference(s) from the manifest", dir, len(diffs))}
	}
	fmt.Fprintf(stdout, "%s: every file matches the manifest\n", dir)
	if pub != nil {
		fmt.Fprintf(stdout, "%s: signature ok (%s)\n", dir, keyPath)
	}
	return nil
}

type planOptions struct {
	policy, against string
	markdown, json  bool
	failOnDowngrade bool
}

func runPlan(stdout io.Writer, o planOptions) error {
	p, src, err := loadPlan(o.policy)
	if err != nil {
		return err
	}
	src.Close()
	var before *plan.View
	if fi, err := os.Stat(o.against); err == nil && !fi.IsDir() && strings.HasSuffix(o.against, ".yaml") {
		other, osrc, err := loadPlan(o.against)
		if err != nil {
			return err
		}
		osrc.Close()
		before = plan.PlanView(other)
	} else if before, err = plan.TreeView(os.DirFS(o.against)); err != nil {
		return err
	}
	after := plan.PlanView(p)
	changes := plan.Diff(before, after)
	switch {
	case o.json:
		if err := plan.WriteJSON(stdout, changes); err != nil {
			return err
		}
	case o.markdown:
		plan.WriteMarkdown(stdout, changes)
		writeDowngrades(stdout, plan.Downgrades(after), "- ", "\n**Downgrades** (devices sent an older version than they run):\n")
	default:
		plan.WriteText(stdout, changes)
		writeDowngrades(stdout, plan.Downgrades(after), "  ", "\ndowngrades (devices sent an older version than they run):\n")
	}
	if o.failOnDowngrade {
		for _, c := range changes {
			if c.NewDowngrade() {
				return &exitError{code: exitDowngrade, err: errors.New("plan: a change sends devices an older version (--fail-on-downgrade)")}
			}
		}
	}
	if len(changes) > 0 {
		return &exitError{code: exitChanged, err: errors.New("")}
	}
	return nil
}

func writeDowngrades(w io.Writer, lines []string, bullet, heading string) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprint(w, heading)
	for _, l := range lines {
		fmt.Fprintf(w, "%s%s\n", bullet, l)
	}
}

func planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "show what changes in what devices are told, compared with the live tree (exit 3 when something does), and every downgrade",
		Flags: []cli.Flag{policyFlag(),
			&cli.BoolFlag{Name: "fail-on-downgrade", Usage: "exit 4 when a change newly sends devices an older version than they run"},
			&cli.StringFlag{Name: "against", Value: "site", Usage: "a site or tree `DIR`, or another policy file, to compare with"},
			&cli.BoolFlag{Name: "markdown", Usage: "write Markdown, for a pull-request comment"},
			&cli.BoolFlag{Name: "json", Usage: "write JSON"},
		},
		Action: func(c *cli.Context) error {
			return runPlan(c.App.Writer, planOptions{
				policy: c.String("policy"), against: c.String("against"),
				markdown: c.Bool("markdown"), json: c.Bool("json"), failOnDowngrade: c.Bool("fail-on-downgrade"),
			})
		},
	}
}
