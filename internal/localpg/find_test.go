package localpg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeInstall writes executables into dir; pg_ctl --version reports version.
func fakeInstall(t *testing.T, dir, version string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		body := "#!/bin/sh\nexit 0\n"
		if n == "pg_ctl" {
			body = "#!/bin/sh\necho 'pg_ctl (PostgreSQL) " + version + " (fake)'\n"
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindServer(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	all := []string{"initdb", "pg_ctl", "postgres"}
	deb := filepath.Join(root, "usr", "lib", "postgresql")
	fakeInstall(t, filepath.Join(deb, "9.6", "bin"), "9.6.24", all...)
	fakeInstall(t, filepath.Join(deb, "15", "bin"), "15.14", all...)
	fakeInstall(t, filepath.Join(deb, "16", "bin"), "16.4", "pg_ctl", "psql") // client only
	fakeInstall(t, filepath.Join(deb, "14", "bin"), "14.2", all...)
	// libpq-dev's pg_config points at a directory without initdb.
	libpq := filepath.Join(root, "usr", "lib", "libpq-bin")
	fakeInstall(t, libpq, "16.4", "pg_ctl")
	usrbin := filepath.Join(root, "usr", "bin")
	if err := os.MkdirAll(usrbin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(usrbin, "pg_config"), []byte("#!/bin/sh\necho "+libpq+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fakeInstall(t, usrbin, "", "pg_ctlcluster", "psql")
	globs := []string{filepath.Join(deb, "*", "bin")}

	t.Run("newest complete installation first", func(t *testing.T) {
		srv, err := FindServer(ctx, Search{PgConfig: "pg_config", Path: usrbin, Globs: globs}, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(deb, "15", "bin"); srv.BinDir != want || srv.Major != "15" || srv.Version != "15.14" {
			t.Errorf("found %+v, want 15.14 in %s", srv, want)
		}
	})

	t.Run("pg_config and PATH come first", func(t *testing.T) {
		own := filepath.Join(root, "opt", "pg17", "bin")
		fakeInstall(t, own, "17.2", all...)
		link := filepath.Join(root, "links")
		if err := os.MkdirAll(link, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(own, "pg_ctl"), filepath.Join(link, "pg_ctl")); err != nil {
			t.Fatal(err)
		}
		srv, err := FindServer(ctx, Search{Path: usrbin + ":" + link, Globs: globs}, "")
		if err != nil {
			t.Fatal(err)
		}
		if srv.BinDir != own {
			t.Errorf("via a PATH symlink: found %s, want %s", srv.BinDir, own)
		}
		cfg := filepath.Join(root, "pg_config17")
		if err := os.WriteFile(cfg, []byte("#!/bin/sh\necho "+own+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if srv, err = FindServer(ctx, Search{PgConfig: cfg, Globs: globs}, ""); err != nil || srv.BinDir != own {
			t.Errorf("via pg_config: %+v, %v; want %s", srv, err, own)
		}
	})

	t.Run("the version of an existing cluster", func(t *testing.T) {
		srv, err := FindServer(ctx, Search{Globs: globs}, "9.6")
		if err != nil || srv.Major != "9.6" {
			t.Fatalf("major 9.6: %+v, %v", srv, err)
		}
		_, err = FindServer(ctx, Search{Globs: globs}, "13")
		if err == nil || errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "PostgreSQL 13") || !strings.Contains(err.Error(), "15.14") {
			t.Errorf("major 13: %v, want an error naming 13 and what was found", err)
		}
	})

	t.Run("nothing usable", func(t *testing.T) {
		_, err := FindServer(ctx, Search{PgConfig: "pg_config", Path: usrbin, Globs: []string{filepath.Join(root, "none", "*")}}, "")
		if !errors.Is(err, ErrNoServer) {
			t.Fatalf("err = %v, want ErrNoServer", err)
		}
	})
}

func TestCompareVersions(t *testing.T) {
	if compareVersions("/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/15/bin") >= 0 {
		t.Error("9.6 should sort before 15")
	}
	if compareVersions("/usr/pgsql-16/bin", "/usr/pgsql-15/bin") <= 0 {
		t.Error("16 should sort after 15")
	}
}
