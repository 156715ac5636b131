package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/duws/duws/builder/extract"
	"github.com/urfave/cli/v2"
)

func cabCommand() *cli.Command {
	return &cli.Command{
		Name:  "cab",
		Usage: "list, test or extract Microsoft Cabinet files (every cabinet of a file holding several)",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "list the files of cabinets",
				ArgsUsage: "FILE...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageErrorf("cab list: no cabinet given")
					}
					return cabList(c.App.Writer, c.App.ErrWriter, c.Args().Slice())
				},
			},
			{
				Name:      "test",
				Usage:     "decompress and verify every file, writing nothing",
				ArgsUsage: "FILE...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageErrorf("cab test: no cabinet given")
					}
					return cabWalk(c.App.Writer, c.App.ErrWriter, c.Args().Slice(), extract.Options{Test: true})
				},
			},
			{
				Name:      "extract",
				Usage:     "extract the files of cabinets",
				ArgsUsage: "FILE...",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "d", Aliases: []string{"directory"}, Value: ".", Usage: "extract into `DIR`"},
					&cli.StringFlag{Name: "filter", Usage: "extract only files whose name matches `GLOB` (path.Match, case-insensitive)"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageErrorf("cab extract: no cabinet given")
					}
					opts := extract.Options{Dir: c.String("d"), Filter: c.String("filter")}
					if err := extract.CheckFilter(opts.Filter); err != nil {
						return usageErrorf("cab extract: --filter %q: %v", opts.Filter, err)
					}
					return cabWalk(c.App.Writer, c.App.ErrWriter, c.Args().Slice(), opts)
				},
			},
		},
	}
}

// openCabinets opens the cabinets of name and says what it found: the
// rest of a set, or the offsets of several cabinets in one file.
func openCabinets(stderr io.Writer, name string) (*extract.Opened, []string, error) {
	o, err := extract.Open(name)
	if err != nil {
		return nil, nil, err
	}
	labels := make([]string, len(o.Cabinets))
	if len(o.Cabinets) == 1 {
		labels[0] = name
		for _, next := range o.Cabinets[0].Continues {
			fmt.Fprintf(stderr, "duws: %s: set continues in %s\n", name, next)
		}
		return o, labels, nil
	}
	var at []string
	for i, c := range o.Cabinets {
		labels[i] = fmt.Sprintf("%s (offset %d)", name, c.Offset)
		at = append(at, fmt.Sprint(c.Offset))
	}
	fmt.Fprintf(stderr, "duws: %s: holds %d cabinets, at offsets %s\n", name, len(o.Cabinets), strings.Join(at, ", "))
	return o, labels, nil
}

func cabList(stdout, stderr io.Writer, names []string) error {
	failed := false
	for _, name := range names {
		o, labels, err := openCabinets(stderr, name)
		if err != nil {
			fmt.Fprintf(stderr, "duws: error: %v\n", err)
			failed = true
			continue
		}
		for i, c := range o.Cabinets {
			fmt.Fprintf(stdout, "Viewing cabinet: %s\n", labels[i])
			fmt.Fprintf(stdout, " File size | Date       Time     | Name\n")
			fmt.Fprintf(stdout, "-----------+---------------------+-------------\n")
			for _, f := range c.Files {
				fmt.Fprintf(stdout, "%10d | %s | %s\n", f.Size, f.Modified.Format("02.01.2006 15:04:05"), f.Name)
			}
			fmt.Fprintln(stdout)
		}
		o.Close()
	}
	if failed {
		return errFailed
	}
	return nil
}

func cabWalk(stdout, stderr io.Writer, names []string, opts extract.Options) error {
	nfailed := 0
	for _, name := range names {
		o, labels, err := openCabinets(stderr, name)
		if err != nil {
			fmt.Fprintf(stderr, "duws: error: %v\n", err)
			nfailed++
			continue
		}
		results, err := o.Walk(opts)
		o.Close()
		if err != nil {
			return err
		}
		for i, rs := range results {
			nfailed += printResults(stdout, stderr, labels[i], rs, opts)
		}
	}
	if nfailed > 0 {
		fmt.Fprintf(stdout, "All done, errors in processing %d file(s)\n", nfailed)
		return errFailed
	}
	fmt.Fprintln(stdout, "All done, no errors.")
	return nil
}

// printResults prints what became of the files of one cabinet, as
// cabextract does, and returns how many failed.
func printResults(stdout, stderr io.Writer, label string, results []extract.Result, opts extract.Options) int {
	verb := "Extracting"
	if opts.Test {
		verb = "Testing"
	}
	fmt.Fprintf(stdout, "%s cabinet: %s\n", verb, label)
	nfailed := 0
	for _, res := range results {
		switch {
		case res.Err != nil:
			nfailed++
			fmt.Fprintf(stdout, "  %s  failed\n", res.Name)
			fmt.Fprintf(stderr, "duws: error: %s: %s: %v\n", label, res.Name, res.Err)
		case opts.Test:
			fmt.Fprintf(stdout, "  %-*s  OK  %s\n", 38, res.Name, res.Sum)
		case res.Note != "":
			fmt.Fprintf(stdout, "  skipping %s: %s\n", filepath.Join(opts.Dir, filepath.FromSlash(res.Name)), res.Note)
		default:
			fmt.Fprintf(stdout, "  extracting %s\n", filepath.Join(opts.Dir, filepath.FromSlash(res.Name)))
		}
	}
	fmt.Fprintln(stdout)
	return nfailed
}
