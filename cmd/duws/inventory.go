package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/responder/audit"
	"github.com/urfave/cli/v2"
)

func inventoryCommand() *cli.Command {
	return &cli.Command{
		Name:      "inventory",
		Usage:     "summarise audit logs into the fleet: devices by identity and version, last seen, how many are not on the approved version",
		ArgsUsage: "LOGDIR|FILE...",
		Flags: []cli.Flag{policyFlag(),
			&cli.BoolFlag{Name: "csv", Usage: "write CSV"},
			&cli.BoolFlag{Name: "json", Usage: "write JSON"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageErrorf("inventory: give the audit log directory or files")
			}
			fleet, err := audit.Inventory(c.Args().Slice())
			if err != nil {
				return err
			}
			approved, err := approvedVersions(c.String("policy"))
			if err != nil {
				return err
			}
			s := fleet.Summary(approved)
			if approved == nil {
				noPolicy(c.App.Writer, c.App.ErrWriter, c.String("policy"), !c.Bool("json") && !c.Bool("csv"))
			}
			switch {
			case c.Bool("json"):
				err = s.WriteJSON(c.App.Writer)
			case c.Bool("csv"):
				err = s.WriteCSV(c.App.Writer)
			default:
				err = s.WriteText(c.App.Writer)
			}
			if err != nil {
				return err
			}
			for _, p := range fleet.Problems {
				fmt.Fprintf(c.App.ErrWriter, "duws: warning: %s\n", p)
			}
			return nil
		},
	}
}

// approvedVersions returns the approved version of each rule of the
// policy, keyed ignoring case; nil when there is no policy file.
func approvedVersions(path string) (func(identity, updateType string) (string, bool), error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(path, b)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, r := range p.Rules {
		if r.Approved != nil {
			m[strings.ToLower(r.Identity.String()+" "+r.UpdateType)] = r.Approved.String()
		}
	}
	return func(identity, updateType string) (string, bool) {
		v, ok := m[strings.ToLower(identity+" "+updateType)]
		return v, ok
	}, nil
}
