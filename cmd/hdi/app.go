package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/config"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/localpg"
	"github.com/hdi-dev/hdi/internal/logging"
)

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// App carries what every command needs: the streams, the effective
// configuration and the logger. Data goes to Stdout, everything else to Stderr.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger
	// Config is the effective configuration, loaded before any command runs.
	Config *config.Config
	// Redactor scrubs secrets from logs and error messages.
	Redactor *logging.Redactor

	env   config.Env
	flags globalFlags
	local *localpg.Cluster // opened once per run by localCluster
	// described caches what each plugin (by path) said of itself, so a
	// run starts a plugin once to describe it (describe).
	described map[string]pluginJSON
}

// commandCtors lists the constructors of the top-level subcommands. Each
// command file registers its own in an init function, so files stay independent.
var commandCtors []func(*App) *cobra.Command

func addCommand(ctor func(*App) *cobra.Command) { commandCtors = append(commandCtors, ctor) }

// errSilentFailure fails the command without printing more: it has already
// said what went wrong.
var errSilentFailure = errors.New("failed")

// usageError marks an error caused by how the command was called (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitCodeError ends a command with its own exit code and message.
type exitCodeError struct {
	code int
	msg  string
}

func (e exitCodeError) Error() string { return e.msg }

func (e exitCodeError) with(msg string) exitCodeError { e.msg = msg; return e }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWithEnv(args, os.LookupEnv, stdin, stdout, stderr)
}

// runWithEnv is run with the environment injected, for tests.
func runWithEnv(args []string, env config.Env, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &App{Stdin: stdin, Stdout: stdout, Stderr: stderr, Logger: slog.New(slog.DiscardHandler), Redactor: &logging.Redactor{}, env: env}
	root := newRootCmd(app)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(context.Background())
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errSilentFailure) {
		if isUsageError(err) {
			return exitUsage
		}
		return exitFailure
	}
	msg := app.Redactor.Scrub(err.Error())
	var ce exitCodeError
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "hdi: %s\n", msg)
		return ce.code
	}
	if isUsageError(err) {
		path := "hdi"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(stderr, "hdi: %s\n", msg)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
		return exitUsage
	}
	fmt.Fprintf(stderr, "hdi: %s\n", msg)
	return exitFailure
}

// isUsageError reports an error in what the user typed (exit 2): a
// usageError, cobra's own, a job value given as a flag that hdi or the
// provider rejects, or a job name that names no job.
func isUsageError(err error) bool {
	var ue usageError
	var nj *jobspec.NoJobError
	return errors.As(err, &ue) || isCobraUsageError(err) || jobspec.FromFlags(err) || errors.As(err, &nj)
}

// isCobraUsageError recognises the argument errors cobra raises itself.
func isCobraUsageError(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
