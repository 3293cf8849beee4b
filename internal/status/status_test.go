package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/status"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestStatusWithAndWithoutMigrations(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDB(t)

	r := status.NewReport("")
	r.CheckDatabase(ctx, url, "configured")
	if !r.Database.Reachable || r.Database.ServerVersion == "" {
		t.Fatalf("database should be reachable: %+v", r.Database)
	}
	if r.Migrations.Applied != 0 || !r.Migrations.Pending || r.Migrations.Latest < 1 {
		t.Fatalf("before migrations: %+v", r.Migrations)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "run `hdi migrate up`") {
		t.Fatalf("status should say to migrate:\n%s", text.String())
	}

	pgtest.Migrate(t, url)
	r = status.NewReport("/etc/hdi.yaml")
	r.CheckDatabase(ctx, url, "configured")
	if r.Migrations.Applied != r.Migrations.Latest || r.Migrations.Pending {
		t.Fatalf("after migrations: %+v", r.Migrations)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"config_file", "database", "migrations", "plugins"} {
		if _, ok := back[k]; !ok {
			t.Errorf("json status lacks %q: %s", k, b)
		}
	}
}

func TestStatusWithoutDatabase(t *testing.T) {
	r := status.NewReport("")
	r.CheckDatabase(context.Background(), "postgres://hdi:pa55word@127.0.0.1:1/hdi?sslmode=disable", "configured")
	if r.Database.Reachable {
		t.Fatal("port 1 cannot be reachable")
	}
	var out bytes.Buffer
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "127.0.0.1:1") || !strings.Contains(s, "reachable   no") || strings.Contains(s, "pa55word") {
		t.Fatalf("status without a database:\n%s", s)
	}
	if r.Migrations.Latest < 1 {
		t.Fatalf("latest embedded migration must be known without a database: %+v", r.Migrations)
	}
}
