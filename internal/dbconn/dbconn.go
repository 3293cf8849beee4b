// Package dbconn opens hdi's connections to PostgreSQL: with a bounded
// connect timeout, and with errors that name the server (never the
// password) and say what to check.
package dbconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ConnectTimeout bounds how long reaching the server may take.
const ConnectTimeout = 5 * time.Second

// Target names the server a connection string points at, without secrets.
type Target struct {
	Host     string `json:"host"`
	Port     uint16 `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
}

func (t Target) String() string {
	if strings.HasPrefix(t.Host, "/") {
		return fmt.Sprintf("socket %s/.s.PGSQL.%d database %s", t.Host, t.Port, t.Database)
	}
	return fmt.Sprintf("%s database %s", net.JoinHostPort(t.Host, fmt.Sprint(t.Port)), t.Database)
}

// ParseTarget reads the host, port, database and user from a connection string.
func ParseTarget(url string) (Target, error) {
	if err := checkUserinfo(url); err != nil {
		return Target{}, err
	}
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return Target{}, fmt.Errorf("parse database URL: %s", scrubParseError(err))
	}
	return Target{Host: cfg.Host, Port: cfg.Port, Database: cfg.Database, User: cfg.User}, nil
}

// PoolConfig parses url into a pool configuration with hdi's timeouts.
func PoolConfig(url string) (*pgxpool.Config, error) {
	if err := checkUserinfo(url); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %s", scrubParseError(err))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > ConnectTimeout {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "hdi"
	}
	// hdi's statements are index range scans and COPY: JIT compilation (on by
	// default in PostgreSQL) costs seconds and saves nothing there. A URL
	// that sets jit itself keeps its value.
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	return cfg, nil
}

// Open connects a pool and checks the server answers, within ConnectTimeout.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(url)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open with a parsed configuration.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, Explain(cfg.ConnConfig, err)
	}
	pctx, cancel := context.WithTimeout(ctx, ConnectTimeout+time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, Explain(cfg.ConnConfig, err)
	}
	return pool, nil
}

// Explain turns a connection failure into one line naming the server and a hint.
func Explain(cfg *pgx.ConnConfig, err error) error {
	t := Target{Host: cfg.Host, Port: cfg.Port, Database: cfg.Database, User: cfg.User}
	var pgErr *pgconn.PgError
	hint := "check that PostgreSQL is running there and that DATABASE_URL is right"
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000":
			hint = "check the user name and password in DATABASE_URL"
		case "3D000":
			hint = fmt.Sprintf("create the database (createdb %s) or fix DATABASE_URL", t.Database)
		default:
			hint = pgErr.Hint
		}
		msg := fmt.Sprintf("cannot connect to PostgreSQL at %s as %s: %s (SQLSTATE %s)", t, t.User, pgErr.Message, pgErr.Code)
		if hint != "" {
			msg += "; " + hint
		}
		return &ConnectError{Target: t, msg: msg, err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") {
		return &ConnectError{Target: t, err: err, msg: fmt.Sprintf("cannot connect to PostgreSQL at %s: no answer within %s; %s", t, ConnectTimeout, hint)}
	}
	return &ConnectError{Target: t, err: err, msg: fmt.Sprintf("cannot connect to PostgreSQL at %s: %s; %s", t, rootCause(err), hint)}
}

// ConnectError is a failure to reach or log in to the server.
type ConnectError struct {
	Target Target
	msg    string
	err    error
}

func (e *ConnectError) Error() string { return e.msg }
func (e *ConnectError) Unwrap() error { return e.err }

// rootCause keeps the last, most specific part of a pgconn error chain
// ("dial tcp 127.0.0.1:1: connect: connection refused" -> "connection refused").
func rootCause(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// checkUserinfo refuses a URL with more than one '@' before its path: pgx
// takes what follows the first for the host, so a password holding an
// unencoded '@' would otherwise be named as a host in connection errors.
func checkUserinfo(url string) error {
	rest, ok := strings.CutPrefix(url, "postgres://")
	if !ok {
		if rest, ok = strings.CutPrefix(url, "postgresql://"); !ok {
			return nil
		}
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	if strings.Count(rest, "@") > 1 {
		return errors.New("parse database URL: more than one '@' before the host: write an '@' of the user name or password as %40")
	}
	return nil
}

// quoted is a fragment of the connection string a parse error quotes.
var quoted = regexp.MustCompile(`"[^"]*"`)

// unquote drops the quoted fragments longer than one character from a
// parse error's reason ("=" or "]" stay).
func unquote(reason string) string {
	return quoted.ReplaceAllStringFunc(reason, func(q string) string {
		if len(q) > 3 {
			return `"…"`
		}
		return q
	})
}

// scrubParseError drops the connection string pgconn may echo back, and
// the fragments of it the reason quotes: a password the parser could not
// place (an unquoted space, an unencoded '/' or '&') lands in another
// component, which the reason may quote.
func scrubParseError(err error) string {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return unquote(ue.Err.Error()) // url.Error quotes the whole URL; keep only the reason
	}
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return unquote(pe.Unwrap().Error())
	}
	return "malformed connection string"
}
