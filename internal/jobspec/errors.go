package jobspec

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a job file. Its message is a single line.
type Error struct {
	// File is the job file's path ("" for jobs built in code).
	File string
	// Line is 1-based; 0 when unknown.
	Line int
	// Msg says what is wrong, usually starting with the key's path
	// (source.schema, rules[2].min).
	Msg string
	// Flag is the command-line flag that gave the value ("--start"), when
	// the problem is with what the user typed rather than a file's key.
	Flag string
}

// FromFlags reports whether err is a job problem with values given as
// flags only (an Error or Errors whose every problem has a Flag): the
// command line is wrong, not a file.
func FromFlags(err error) bool {
	var es Errors
	if errors.As(err, &es) {
		for _, e := range es {
			if e.Flag == "" {
				return false
			}
		}
		return len(es) > 0
	}
	var e *Error
	return errors.As(err, &e) && e.Flag != ""
}

// Error formats the problem as "file:line: message".
func (e *Error) Error() string {
	switch {
	case e.File == "" && e.Line == 0:
		return e.Msg
	case e.File == "":
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Line == 0:
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors is every problem found in one file, in line order. Its Error
// joins them, one per line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted orders the problems by line, keeping the order of each line's own.
func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

// err returns es as an error, nil when empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es.sorted()
}
