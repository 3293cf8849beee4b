package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/jackc/pgx/v5"
)

// serverCopy is the database's own limit on the rows hdi loads: the server
// exports them, once and untimed, as two binary COPY files (alternate rows,
// as hdi's two parts interleave in the key), and each timed load is two
// sessions each running `COPY t FROM 'half' (FORMAT binary)` at once. No
// client encodes or sends anything, so hdi's ratio to it is the share of
// the database's ingest rate hdi reaches with its default two parts. The
// server must be able to write and read the files (a superuser, or
// pg_write_server_files and pg_read_server_files, and the path on the
// server's host).
type serverCopy struct {
	url   string
	cols  []string
	files [2]string
}

func newServerCopy(ctx context.Context, conn *pgx.Conn, url, table string, cols []string) (*serverCopy, error) {
	s := &serverCopy{url: url, cols: cols}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return nil, err
	}
	list := quoteCols(cols)
	for k := range s.files {
		s.files[k] = filepath.Join(os.TempDir(), fmt.Sprintf("%s-server-%d.bin", db, k))
		sql := fmt.Sprintf(`COPY (SELECT %s FROM (SELECT *, row_number() OVER () AS hdi_rn FROM %s) t WHERE hdi_rn %% 2 = %d) TO '%s' (FORMAT binary)`,
			list, pgx.Identifier{table}.Sanitize(), k, s.files[k])
		if _, err := conn.Exec(ctx, sql); err != nil {
			s.cleanup(ctx)
			return nil, fmt.Errorf("export %s (is the server on this host, and the role a superuser?): %w", s.files[k], err)
		}
	}
	return s, nil
}

// load runs the two COPYs into table, each on its own connection.
func (s *serverCopy) load(ctx context.Context, table string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.files))
	for k, f := range s.files {
		wg.Go(func() {
			c, err := pgx.Connect(ctx, s.url)
			if err != nil {
				errs[k] = err
				return
			}
			defer c.Close(context.WithoutCancel(ctx))
			_, errs[k] = c.Exec(ctx, fmt.Sprintf(`COPY %s (%s) FROM '%s' (FORMAT binary)`, pgx.Identifier{table}.Sanitize(), quoteCols(s.cols), f))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// cleanup removes the files (the server's own user wrote them: it empties
// them first, in case this process may not remove them).
func (s *serverCopy) cleanup(ctx context.Context) {
	c, err := pgx.Connect(ctx, s.url)
	if err == nil {
		defer c.Close(ctx)
	}
	for _, f := range s.files {
		if f == "" {
			continue
		}
		if c != nil {
			_, _ = c.Exec(ctx, fmt.Sprintf(`COPY (SELECT 1 WHERE false) TO '%s'`, f))
		}
		_ = os.Remove(f)
	}
}
