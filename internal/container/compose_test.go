// Package container tests hdi's deployment files: docker-compose.yml, read
// by the compose-spec loader, and the image `make image` builds, unpacked
// and run with chroot (no container engine runs on the test machines).
package container

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// repoRoot is the checkout this test file is in.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// exampleEnv is .env.example with every value filled in.
func exampleEnv(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			env[k] = "value-of-" + k
		}
	}
	for _, k := range []string{"POSTGRES_PASSWORD", "HDI_API_TOKEN", "DATABENTO_API_KEY"} {
		if _, ok := env[k]; !ok {
			t.Errorf(".env.example does not list %s", k)
		}
	}
	return env
}

// loadCompose loads docker-compose.yml as docker compose does, with env as
// the environment (and no .env file), every profile enabled.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(repoRoot(), "docker-compose.yml")},
		cli.WithWorkingDirectory(repoRoot()), cli.WithEnv(kv), cli.WithProfiles([]string{"*"}))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func TestComposeStack(t *testing.T) {
	env := exampleEnv(t)
	p, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	svc := func(name string) types.ServiceConfig {
		s, ok := p.Services[name]
		if !ok {
			t.Fatalf("no service %q in docker-compose.yml", name)
		}
		return s
	}
	hasHealthcheck := func(s types.ServiceConfig) {
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			t.Errorf("service %s has no healthcheck", s.Name)
		}
	}
	needs := func(s types.ServiceConfig, dep, condition string) {
		d, ok := s.DependsOn[dep]
		if !ok || d.Condition != condition {
			t.Errorf("service %s: depends_on %s is %+v, want condition %s", s.Name, dep, d, condition)
		}
	}

	db := svc("timescaledb")
	hasHealthcheck(db)

	migrate := svc("migrate")
	if got := strings.Join(migrate.Command, " "); got != "migrate up" {
		t.Errorf("migrate runs %q, want hdi migrate up", got)
	}
	needs(migrate, "timescaledb", types.ServiceConditionHealthy)
	if migrate.Restart != "no" {
		t.Errorf("migrate restarts (%q): a one-shot must not", migrate.Restart)
	}

	serve := svc("serve")
	if !slices.Contains(serve.Command, "serve") || !slices.Contains(serve.Command, "0.0.0.0:8080") {
		t.Errorf("serve runs %q", serve.Command)
	}
	hasHealthcheck(serve)
	if hc := strings.Join(serve.HealthCheck.Test, " "); !strings.Contains(hc, "healthcheck") || !strings.Contains(hc, "/healthz") {
		t.Errorf("serve's healthcheck %q does not ask /healthz", hc)
	}
	needs(serve, "migrate", types.ServiceConditionCompletedSuccessfully)
	if len(serve.Ports) != 1 || serve.Ports[0].HostIP != "127.0.0.1" || serve.Ports[0].Published != "8080" || serve.Ports[0].Target != 8080 {
		t.Errorf("serve publishes %+v, want 127.0.0.1:8080:8080", serve.Ports)
	}
	// The token reaches serve as a secret file named by --token-file.
	if len(serve.Secrets) != 1 || !slices.Contains(serve.Command, "/run/secrets/"+serve.Secrets[0].Source) {
		t.Errorf("serve's token: secrets %+v, command %q", serve.Secrets, serve.Command)
	} else if s := p.Secrets[serve.Secrets[0].Source]; s.Environment != "HDI_API_TOKEN" {
		t.Errorf("secret %s comes from %+v, want the environment's HDI_API_TOKEN", serve.Secrets[0].Source, s)
	}

	worker := svc("worker")
	if got := strings.Join(worker.Command, " "); got != "worker" {
		t.Errorf("worker runs %q", got)
	}
	if worker.Deploy == nil || worker.Deploy.Replicas == nil || *worker.Deploy.Replicas != 2 {
		t.Errorf("worker replicas: %+v, want 2", worker.Deploy)
	}
	needs(worker, "migrate", types.ServiceConditionCompletedSuccessfully)

	stream := svc("stream")
	if got := strings.Join(stream.Command, " "); got != "stream --job es-nq-live" {
		t.Errorf("stream runs %q, want hdi stream --job es-nq-live", got)
	}
	if !slices.Contains(stream.Profiles, "live") || stream.Deploy != nil && stream.Deploy.Replicas != nil && *stream.Deploy.Replicas != 1 {
		t.Errorf("stream: profiles %q, deploy %+v: want the live profile and one replica (one process per stream)", stream.Profiles, stream.Deploy)
	}
	needs(stream, "migrate", types.ServiceConditionCompletedSuccessfully)

	for _, s := range []types.ServiceConfig{migrate, serve, worker, stream, svc("hdi")} {
		if s.Image != "hdi:latest" {
			t.Errorf("service %s runs image %q, want hdi:latest", s.Name, s.Image)
		}
		// Every hdi service reaches the database with the password from
		// the environment (.env), not from the file.
		if u := value(s.Environment, "DATABASE_URL"); !strings.Contains(u, "@timescaledb:5432/") {
			t.Errorf("service %s: DATABASE_URL %q", s.Name, u)
		}
		if pw := value(s.Environment, "PGPASSWORD"); pw != env["POSTGRES_PASSWORD"] {
			t.Errorf("service %s: PGPASSWORD %q is not POSTGRES_PASSWORD from .env", s.Name, pw)
		}
		if _, ok := s.Environment["HDI_API_TOKEN"]; ok {
			t.Errorf("service %s has the API token in its environment", s.Name)
		}
	}
	if pw := value(db.Environment, "POSTGRES_PASSWORD"); pw != env["POSTGRES_PASSWORD"] {
		t.Errorf("timescaledb: POSTGRES_PASSWORD %q is not the one from .env", pw)
	}
}

// value is a service's environment variable, "" when unset.
func value(env types.MappingWithEquals, key string) string {
	if v := env[key]; v != nil {
		return *v
	}
	return ""
}

// TestComposeNeedsSecrets: without the password, compose refuses to start
// and says where to set it.
func TestComposeNeedsSecrets(t *testing.T) {
	env := exampleEnv(t)
	delete(env, "POSTGRES_PASSWORD")
	_, err := loadCompose(t, env)
	if err == nil || !strings.Contains(err.Error(), "set POSTGRES_PASSWORD in .env") {
		t.Fatalf("loading without POSTGRES_PASSWORD: %v", err)
	}
}

// secretName matches the environment variables that hold secrets.
var secretName = regexp.MustCompile(`(?i)(PASSWORD|TOKEN|SECRET|API_KEY)`)

// TestComposeHoldsNoSecret reads the file as written: every secret-looking
// variable is interpolated from the environment, no URL carries a
// password, and no secret is inline content.
func TestComposeHoldsNoSecret(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XHDI struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"x-hdi"`
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
		Secrets map[string]map[string]any `yaml:"secrets"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	envs := map[string]map[string]string{"x-hdi": doc.XHDI.Environment}
	for name, s := range doc.Services {
		envs[name] = s.Environment
	}
	interpolated := regexp.MustCompile(`^\$\{[A-Z_]+(:?[-?][^}]*)?\}$`)
	checked := 0
	for where, env := range envs {
		for k, v := range env {
			if secretName.MatchString(k) {
				checked++
				if !interpolated.MatchString(v) {
					t.Errorf("%s: %s is written in docker-compose.yml (%q); take it from the environment: ${%s}", where, k, v, k)
				}
			}
			if regexp.MustCompile(`://[^/@\s]+:[^/@\s]+@`).MatchString(v) {
				t.Errorf("%s: %s holds a URL with a password", where, k)
			}
		}
	}
	if checked < 3 {
		t.Errorf("only %d secret variables found; the check reads the wrong structure", checked)
	}
	for name, s := range doc.Secrets {
		if _, inline := s["content"]; inline {
			t.Errorf("secret %s is inline content", name)
		}
	}
}
