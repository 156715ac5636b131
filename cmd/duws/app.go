package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// Exit codes.
const (
	exitOK        = 0
	exitFailed    = 1 // something failed, after doing what could be done
	exitUsage     = 2 // the command line was wrong
	exitChanged   = 3 // plan: the answers would change
	exitDowngrade = 4 // plan --fail-on-downgrade: a change is a downgrade
)

// exitError carries an exit code and a message already worded for people.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// failed reports that the command did what it could but something failed;
// the details were printed already.
var errFailed = &exitError{code: exitFailed, err: errors.New("")}

// run is the whole program: it returns the exit code instead of exiting,
// so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	cl, err := parseCommandLine(app, args)
	if err == nil {
		err = cl.preflight()
	}
	if err == nil {
		err = app.RunContext(ctx, cl.args)
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if msg := ee.err.Error(); msg != "" {
			fmt.Fprintf(stderr, "duws: error: %s\n", msg)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "duws: error: %v\n", err)
	return exitFailed
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "duws",
		Usage:   "device update web service for Lync Phone Edition phones",
		Version: versionString(),
		Description: "Exit codes: 0 success (including nothing to change, said in words), 1 failure, 2 usage error, 3 duws plan found changes, 4 duws plan --fail-on-downgrade found a change that newly sends devices an older version.\n" +
			"Flags may come before or after arguments; -- ends them. duws help CMD describes a command.",
		Writer:    stdout,
		ErrWriter: stderr,
		// The library must never exit the process itself: run decides.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageErrorf("%v", err)
		},
		HideHelpCommand: true,
		Commands:        append(append(append([]*cli.Command{initCommand()}, policyCommands()...), buildCommands()...), serveCommand(), deviceCheckCommand(), usersCommand(), inventoryCommand(), cabCommand(), simulateCommand()),
	}
	// Every command reports a usage error with exit code 2.
	var setUsage func([]*cli.Command)
	setUsage = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.OnUsageError = app.OnUsageError
			setUsage(c.Subcommands)
		}
	}
	setUsage(app.Commands)
	return app
}

// testContext is the context a re-executed test binary runs duws with.
func testContext() context.Context { return context.Background() }
