package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/duws/duws/builder/build"
	"github.com/urfave/cli/v2"
)

var outFlag = &cli.StringFlag{Name: "out", Value: "site", Usage: "the site `DIR` holding the trees and the current link"}

func buildCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:  "build",
			Usage: "build the static tree from the policy and its packages, and publish it",
			Flags: []cli.Flag{policyFlag, outFlag,
				&cli.IntFlag{Name: "keep", Value: 5, Usage: "published trees to keep besides the live one"},
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
			ArgsUsage: "[TREE-ID]",
			Flags:     []cli.Flag{outFlag, &cli.BoolFlag{Name: "revert", Usage: "make the previously published tree live again"}},
			Action: func(c *cli.Context) error {
				w := &build.Writer{Dir: c.String("out"), Keep: 1 << 20}
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
					return usageErrorf("publish: give a tree id, or --revert")
				}
				if err := w.Publish(c.Args().First()); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "published: %s is live\n", c.Args().First())
				return nil
			},
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
		{
			Name:  "plan",
			Usage: "show what changes in what devices are told, compared with the live tree (exit 3 when something does)",
			Flags: []cli.Flag{policyFlag,
				&cli.StringFlag{Name: "against", Value: "site", Usage: "a site or tree `DIR`, or another policy file, to compare with"},
				&cli.BoolFlag{Name: "markdown", Usage: "write Markdown, for a pull-request comment"},
				&cli.BoolFlag{Name: "json", Usage: "write JSON"},
			},
			Action: func(c *cli.Context) error {
				return runPlan(c.App.Writer, c.String("policy"), c.String("against"), c.Bool("markdown"), c.Bool("json"))
			},
		},
	}
}

type buildOptions struct {
	policy, out, sign string
	keep              int
	publish           bool

	allowEmpty, allowRelativeURLs bool // see buildPreflight
}

func loadPlan(policyPath string) (*build.Plan, *build.Sources, error) {
	build.LimitMemory() // for the rest of the command
	src := &build.Sources{PolicyPath: policyPath}
	in, err := src.Load(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return nil, nil, err
	}
	p, err := build.MakePlan(in)
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
	w := &build.Writer{Dir: o.out, Keep: o.keep, Open: src.Open}
	if o.sign != "" {
		b, err := os.ReadFile(o.sign)
		if err != nil {
			return err
		}
		priv, err := build.ParsePrivateKey(b)
		if err != nil {
			return fmt.Errorf("%s: %w", o.sign, err)
		}
		w.Sign = build.Signer(priv)
	}
	st, err := w.Write(p)
	if err != nil {
		return err
	}
	if st.Reused {
		fmt.Fprintf(stdout, "tree %s already built\n", st.ID)
	} else {
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
		k, perr := build.ParsePublicKey(pub)
		if perr != nil {
			return fmt.Errorf("%s: %w", keyPath, perr)
		}
		diffs, err = build.Verify(dir, k)
	} else {
		diffs, err = build.Verify(dir, nil)
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

func runPlan(stdout io.Writer, policyPath, against string, markdown, asJSON bool) error {
	p, src, err := loadPlan(policyPath)
	if err != nil {
		return err
	}
	src.Close()
	var before *build.View
	if fi, err := os.Stat(against); err == nil && !fi.IsDir() && strings.HasSuffix(against, ".yaml") {
		other, osrc, err := loadPlan(against)
		if err != nil {
			return err
		}
		osrc.Close()
		before = build.PlanView(other)
	} else if before, err = build.TreeView(against); err != nil {
		return err
	}
	changes := build.Diff(before, build.PlanView(p))
	switch {
	case asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if changes == nil {
			changes = []build.Change{}
		}
		if err := enc.Encode(changes); err != nil {
			return err
		}
	case markdown:
		build.WriteMarkdown(stdout, changes)
	default:
		build.WriteText(stdout, changes)
	}
	if len(changes) > 0 {
		return &exitError{code: exitChanged, err: errors.New("")}
	}
	return nil
}
