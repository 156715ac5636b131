package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// The command line as git and kubectl users type it. urfave/cli stops
// reading flags at the first argument, so `duws approve 51b7 --dry-run`
// would take --dry-run as a selector; normalizeArgs moves every flag in
// front of the arguments first, using the command's own flag definitions
// to know which flags take a value. It also turns `duws help CMD` into
// `duws CMD --help`, names an unknown command with the closest known one,
// and reports a missing required flag as a usage error before the command
// runs.

// normalizeArgs returns args (the program name first) with the flags of
// the command they select before its arguments, or a usage error.
func normalizeArgs(app *cli.App, args []string) ([]string, error) {
	cl, err := parseCommandLine(app, args)
	if err != nil {
		return nil, err
	}
	return cl.args, nil
}

// commandLine is a command line read with the commands' definitions.
type commandLine struct {
	args  []string     // normalized: flags before arguments
	cmd   *cli.Command // the command selected; nil for the app itself
	where string       // "duws cab extract"
	flags []string     // the flags given to cmd, with their values
	known bool         // every flag is one cmd defines
}

// preflight checks, before a command runs, what the parser cannot: that
// the policy it reads exists.
func (cl *commandLine) preflight() error {
	if cl.cmd == nil || !cl.known || hasHelp(cl.flags) {
		return nil
	}
	return needPolicy(cl.where, cl.cmd, cl.flags)
}

// topLevel handles what comes before a command: nothing at all, duws help
// [CMD [SUB]] (the same as duws [CMD [SUB]] --help), and the app's own
// flags (--help, --version). It returns the words from the command on, or
// the command line already complete.
func topLevel(args []string) ([]string, *commandLine, error) {
	if len(args) == 0 {
		return nil, &commandLine{args: args}, nil
	}
	rest := args[1:]
	if len(rest) == 0 {
		return nil, nil, usageErrorf("no command given; run duws --help to see them")
	}
	if rest[0] == "help" {
		rest = append(slices.Clone(rest[1:]), "--help")
		if len(rest) == 1 {
			return nil, &commandLine{args: []string{args[0], "--help"}}, nil
		}
	}
	if strings.HasPrefix(rest[0], "-") {
		return nil, &commandLine{args: append([]string{args[0]}, rest...)}, nil
	}
	return rest, nil, nil
}

func parseCommandLine(app *cli.App, args []string) (*commandLine, error) {
	rest, done, err := topLevel(args)
	if done != nil || err != nil {
		return done, err
	}
	out := []string{args[0]}
	cmds := app.Commands
	var cmd *cli.Command
	where := "duws"
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		c := findCommand(cmds, rest[0])
		if c == nil {
			if cmd != nil && len(cmd.Subcommands) == 0 {
				break // an argument of cmd
			}
			return nil, unknownCommand(where, rest[0], cmds)
		}
		cmd = c
		where += " " + c.Name
		out = append(out, rest[0])
		rest = rest[1:]
		cmds = c.Subcommands
		if len(cmds) == 0 {
			break
		}
	}
	if cmd == nil {
		return &commandLine{args: append(out, rest...)}, nil
	}
	flags, positional, known := splitFlags(cmd, rest)
	if len(cmd.Subcommands) > 0 && cmd.Action == nil && len(positional) == 0 && !hasHelp(flags) {
		return nil, usageErrorf("%sgive a subcommand: %s", prefix(where), strings.Join(commandNames(cmd.Subcommands), ", "))
	}
	if !hasHelp(flags) {
		if err := checkRequired(where, cmd, flags); err != nil {
			return nil, err
		}
	}
	if hasHelp(flags) {
		// Help only: the library takes arguments after --help as help
		// topics, and nothing else may run (cab extract FILE --help
		// extracts nothing).
		return &commandLine{args: append(out, "--help"), cmd: cmd, where: where, flags: []string{"--help"}, known: true}, nil
	}
	out = append(out, flags...)
	if len(positional) > 0 {
		// "--" keeps an argument that starts with "-" an argument.
		out = append(out, "--")
		out = append(out, positional...)
	}
	return &commandLine{args: out, cmd: cmd, where: where, flags: flags, known: known}, nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func commandNames(cmds []*cli.Command) []string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	return names
}

// splitFlags separates the flags (with their values) from the arguments.
// A flag the command does not define is kept as a flag, for the parser to
// report; "--" ends the flags.
func splitFlags(cmd *cli.Command, args []string) (flags, positional []string, known bool) {
	known = true
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...), known
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		known = known && (definesFlag(cmd, name) || hasHelp([]string{a}))
		if hasValue {
			continue
		}
		if takesValue(cmd, name) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional, known
}

func definesFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// takesValue says whether the command's flag called name reads the next
// argument as its value.
func takesValue(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			return d.TakesValue()
		}
		return true
	}
	return false // unknown, or --help: the parser reports the former
}

func hasHelp(flags []string) bool {
	for _, f := range flags {
		if f == "-h" || f == "--help" || f == "-help" {
			return true
		}
	}
	return false
}

// checkRequired reports the first required flag not given, as a usage
// error (the parser would report it as a plain failure).
func checkRequired(where string, cmd *cli.Command, flags []string) error {
	given := map[string]bool{}
	for _, f := range flags {
		if !strings.HasPrefix(f, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		given[name] = true
	}
	for _, f := range cmd.Flags {
		r, ok := f.(cli.RequiredFlag)
		if !ok || !r.IsRequired() {
			continue
		}
		found := false
		for _, n := range f.Names() {
			found = found || given[n]
		}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			for _, env := range d.GetEnvVars() {
				found = found || os.Getenv(env) != ""
			}
		}
		if !found {
			return usageErrorf("%s--%s is required; see %s --help", prefix(where), f.Names()[0], where)
		}
	}
	return nil
}

// unknownCommand names the command not found and the closest one.
func unknownCommand(where, name string, cmds []*cli.Command) error {
	best, bestD := "", 0
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		for _, n := range c.Names() {
			d := editDistance(strings.ToLower(name), n)
			if best == "" || d < bestD {
				best, bestD = c.Name, d
			}
		}
	}
	// A suggestion farther than a third of the word is a guess, not a typo.
	if best != "" && (bestD <= max(2, len(name)/3) || strings.HasPrefix(best, strings.ToLower(name))) {
		return usageErrorf("%sunknown command %q; did you mean %s?", prefix(where), name, best)
	}
	return usageErrorf("%sunknown command %q; run %s --help to see the commands", prefix(where), name, where)
}

// prefix is the "op: " of an error about the command line of where
// ("duws cab" gives "cab: ", "duws" nothing).
func prefix(where string) string {
	if w, ok := strings.CutPrefix(where, "duws "); ok {
		return w + ": "
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// needPolicy fails, saying to run duws init, when cmd reads a policy that
// is not there. inventory compares with a policy only when it finds one,
// and serve --site needs none.
func needPolicy(where string, cmd *cli.Command, flags []string) error {
	var pf *cli.StringFlag
	for _, f := range cmd.Flags {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "policy" {
			pf = sf
		}
	}
	if pf == nil || cmd.Name == "inventory" || cmd.Name == "init" {
		return nil
	}
	path := pf.Value
	for _, env := range pf.EnvVars {
		if v := os.Getenv(env); v != "" {
			path = v
		}
	}
	for i, f := range flags {
		name, v, hasV := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if !strings.HasPrefix(f, "-") {
			continue
		}
		switch {
		case name == "site" && cmd.Name == "serve":
			return nil
		case name == "policy" && hasV:
			path = v
		case name == "policy" && i+1 < len(flags):
			path = flags[i+1]
		}
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s%s not found; run duws init to start a policy here, or give --policy FILE", prefix(where), path)}
	}
	return nil
}
