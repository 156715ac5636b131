package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/duws/duws/builder/extract"
	"github.com/urfave/cli/v2"
)

func cabCommand() *cli.Command {
	return &cli.Command{
		Name:  "cab",
		Usage: "list, test or extract Microsoft Cabinet files",
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

// openCabinet opens name with the rest of its set.
func openCabinet(stderr io.Writer, name string) (*extract.Cabinet, error) {
	c, err := extract.Open(name)
	if err != nil {
		return nil, err
	}
	for _, next := range c.Continues {
		fmt.Fprintf(stderr, "duws: %s: set continues in %s\n", name, next)
	}
	return c, nil
}

func cabList(stdout, stderr io.Writer, names []string) error {
	failed := false
	for _, name := range names {
		r, err := openCabinet(stderr, name)
		if err != nil {
			fmt.Fprintf(stderr, "duws: error: %v\n", err)
			failed = true
			continue
		}
		fmt.Fprintf(stdout, "Viewing cabinet: %s\n", name)
		fmt.Fprintf(stdout, " File size | Date       Time     | Name\n")
		fmt.Fprintf(stdout, "-----------+---------------------+-------------\n")
		for _, f := range r.Files {
			fmt.Fprintf(stdout, "%10d | %s | %s\n", f.Size, f.Modified.Format("02.01.2006 15:04:05"), f.Name)
		}
		fmt.Fprintln(stdout)
		r.Close()
	}
	if failed {
		return errFailed
	}
	return nil
}

func cabWalk(stdout, stderr io.Writer, names []string, opts extract.Options) error {
	nfailed := 0
	for _, name := range names {
		r, err := openCabinet(stderr, name)
		if err != nil {
			fmt.Fprintf(stderr, "duws: error: %v\n", err)
			nfailed++
			continue
		}
		results, err := r.Walk(opts)
		if err != nil {
			r.Close()
			return err
		}
		verb := "Extracting"
		if opts.Test {
			verb = "Testing"
		}
		fmt.Fprintf(stdout, "%s cabinet: %s\n", verb, name)
		for _, res := range results {
			switch {
			case res.Err != nil:
				nfailed++
				fmt.Fprintf(stdout, "  %s  failed\n", res.Name)
				fmt.Fprintf(stderr, "duws: error: %s: %s: %v\n", name, res.Name, res.Err)
			case opts.Test:
				fmt.Fprintf(stdout, "  %-*s  OK  %s\n", 38, res.Name, res.Sum)
			default:
				fmt.Fprintf(stdout, "  extracting %s\n", filepath.Join(opts.Dir, filepath.FromSlash(res.Name)))
			}
		}
		r.Close()
		fmt.Fprintln(stdout)
	}
	if nfailed > 0 {
		fmt.Fprintf(stdout, "All done, errors in processing %d file(s)\n", nfailed)
		return errFailed
	}
	fmt.Fprintln(stdout, "All done, no errors.")
	return nil
}
