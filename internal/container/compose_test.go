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
	for _, k := range []string{"POSTGRES_PASSWORD", "HDI_API_TOKEN", "DATABENTO_API_KEY", "GF_SECURITY_ADMIN_PASSWORD"} {
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
			if strings.HasSuffix(k, "__FILE") && strings.HasPrefix(v, "/run/secrets/") {
				checked++ // a path to a compose secret, read by the image's entry point
				continue
			}
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
	if checked < 4 {
		t.Errorf("only %d secret variables found; the check reads the wrong structure", checked)
	}
	for name, s := range doc.Secrets {
		if _, inline := s["content"]; inline {
			t.Errorf("secret %s is inline content", name)
		}
	}
}

// TestComposeMonitoring: Prometheus and Grafana come with the monitoring
// profile only, on pinned images, published on loopback; Prometheus
// scrapes serve with the API token from the compose secret; Grafana's
// password is a secret too, and its provisioning finds Prometheus and the
// dashboard where the compose file puts them.
func TestComposeMonitoring(t *testing.T) {
	env := exampleEnv(t)
	p, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	prom, ok := p.Services["prometheus"]
	graf, ok2 := p.Services["grafana"]
	if !ok || !ok2 {
		t.Fatalf("docker-compose.yml has no prometheus or grafana service")
	}
	pinned := regexp.MustCompile(`^[a-z0-9/._-]+:v?\d+\.\d+\.\d+$`)
	for _, s := range []types.ServiceConfig{prom, graf} {
		if !slices.Equal(s.Profiles, []string{"monitoring"}) {
			t.Errorf("service %s: profiles %q, want only monitoring (not started by a plain docker compose up)", s.Name, s.Profiles)
		}
		if !pinned.MatchString(s.Image) {
			t.Errorf("service %s: image %q is not pinned to a version", s.Name, s.Image)
		}
		if len(s.Ports) == 0 {
			t.Errorf("service %s publishes no port", s.Name)
		}
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("service %s publishes %s:%s: only on 127.0.0.1", s.Name, port.HostIP, port.Published)
			}
		}
	}
	if len(graf.Ports) != 1 || graf.Ports[0].Published != "3000" || graf.Ports[0].Target != 3000 {
		t.Errorf("grafana publishes %+v, want 127.0.0.1:3000:3000", graf.Ports)
	}
	dataVolume := func(s types.ServiceConfig, target string) {
		for _, v := range s.Volumes {
			if v.Target == target && v.Type == types.VolumeTypeVolume {
				if _, ok := p.Volumes[v.Source]; ok {
					return
				}
			}
		}
		t.Errorf("service %s keeps %s in no named volume: %+v", s.Name, target, s.Volumes)
	}
	dataVolume(prom, "/prometheus")
	dataVolume(graf, "/var/lib/grafana")

	// Prometheus reads deploy/prometheus/prometheus.yml where --config.file says.
	promConfig := bind(t, prom, "deploy/prometheus/prometheus.yml")
	if !slices.Contains(prom.Command, "--config.file="+promConfig) {
		t.Errorf("prometheus runs %q; its config is mounted at %s", prom.Command, promConfig)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string         `yaml:"job_name"`
			MetricsPath   string         `yaml:"metrics_path"`
			Authorization map[string]any `yaml:"authorization"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "deploy/prometheus/prometheus.yml", &cfg)
	if len(cfg.ScrapeConfigs) != 1 {
		t.Fatalf("prometheus.yml: %d scrape configs, want 1 (serve)", len(cfg.ScrapeConfigs))
	}
	sc := cfg.ScrapeConfigs[0]
	var targets []string
	for _, s := range sc.StaticConfigs {
		targets = append(targets, s.Targets...)
	}
	// serve listens on 0.0.0.0:8080 in its container (TestComposeStack).
	if !slices.Equal(targets, []string{"serve:8080"}) || sc.MetricsPath != "/metrics" {
		t.Errorf("prometheus.yml scrapes %q at %q, want serve:8080 at /metrics", targets, sc.MetricsPath)
	}
	// The token: serve's own secret, as a file; never a value in the file.
	tokenFile, _ := sc.Authorization["credentials_file"].(string)
	if sc.Authorization["type"] != "Bearer" || len(sc.Authorization) != 2 {
		t.Errorf("prometheus.yml authorization %v: want type Bearer and credentials_file only", sc.Authorization)
	}
	if !secretFile(p, prom, tokenFile, "HDI_API_TOKEN") {
		t.Errorf("prometheus reads the token from %q: not the hdi_api_token secret (HDI_API_TOKEN) mounted in it (%+v)", tokenFile, prom.Secrets)
	}
	if !slices.ContainsFunc(p.Services["serve"].Secrets, func(s types.ServiceSecretConfig) bool { return "/run/secrets/"+s.Source == tokenFile }) {
		t.Errorf("prometheus's token %s is not serve's", tokenFile)
	}

	// Grafana's password: a secret file from GF_SECURITY_ADMIN_PASSWORD,
	// never the environment; the entry point refuses an empty one.
	pwFile := value(graf.Environment, "GF_SECURITY_ADMIN_PASSWORD__FILE")
	if !secretFile(p, graf, pwFile, "GF_SECURITY_ADMIN_PASSWORD") {
		t.Errorf("grafana's password file %q is not a secret from GF_SECURITY_ADMIN_PASSWORD (%+v)", pwFile, graf.Secrets)
	}
	if _, ok := graf.Environment["GF_SECURITY_ADMIN_PASSWORD"]; ok {
		t.Errorf("grafana has its password in its environment")
	}
	if ep := strings.Join(graf.Entrypoint, " "); !strings.Contains(ep, "[ -s "+pwFile+" ]") || !strings.Contains(ep, "exec /run.sh") {
		t.Errorf("grafana's entry point %q does not refuse an empty password before Grafana's own /run.sh", ep)
	}

	// Provisioning: the data source is the prometheus service, the
	// dashboards' folder is where hdi.json is mounted.
	if got := bind(t, graf, "deploy/grafana/provisioning"); got != "/etc/grafana/provisioning" {
		t.Errorf("grafana's provisioning is mounted at %s, want /etc/grafana/provisioning", got)
	}
	var ds struct {
		Datasources []struct {
			Type           string         `yaml:"type"`
			URL            string         `yaml:"url"`
			UID            string         `yaml:"uid"`
			IsDefault      bool           `yaml:"isDefault"`
			BasicAuth      bool           `yaml:"basicAuth"`
			SecureJSONData map[string]any `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, "deploy/grafana/provisioning/datasources/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" || !ds.Datasources[0].IsDefault {
		t.Errorf("grafana's data sources %+v: want the default, prometheus at http://prometheus:9090", ds.Datasources)
	} else if ds.Datasources[0].BasicAuth || ds.Datasources[0].SecureJSONData != nil {
		t.Errorf("grafana's data source holds credentials: Prometheus needs none on the compose network")
	}
	var dash struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "deploy/grafana/provisioning/dashboards/hdi.yml", &dash)
	hdiJSON := bind(t, graf, "deploy/grafana/hdi.json")
	if len(dash.Providers) != 1 || dash.Providers[0].Type != "file" || dash.Providers[0].Options.Path != filepath.Dir(hdiJSON) {
		t.Errorf("grafana's dashboard providers %+v: want one reading %s, where hdi.json is mounted", dash.Providers, filepath.Dir(hdiJSON))
	}
	if home := value(graf.Environment, "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"); home != hdiJSON {
		t.Errorf("grafana's home dashboard %q is not the mounted hdi.json (%s)", home, hdiJSON)
	}
}

// bind is where service s mounts the repository's file or folder rel,
// read-only; the test fails when it does not.
func bind(t *testing.T, s types.ServiceConfig, rel string) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Source == filepath.Join(repoRoot(), rel) {
			if !v.ReadOnly {
				t.Errorf("service %s mounts %s writable", s.Name, rel)
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("service %s mounts %s: %v", s.Name, rel, err)
			}
			return v.Target
		}
	}
	t.Fatalf("service %s does not mount %s", s.Name, rel)
	return ""
}

// secretFile: path is where service s finds a compose secret that comes
// from the environment variable envVar.
func secretFile(p *types.Project, s types.ServiceConfig, path, envVar string) bool {
	for _, sec := range s.Secrets {
		target := sec.Target
		if target == "" {
			target = sec.Source
		}
		if !strings.HasPrefix(target, "/") {
			target = "/run/secrets/" + target
		}
		if target == path && p.Secrets[sec.Source].Environment == envVar {
			return true
		}
	}
	return false
}

// readYAML decodes the repository's file rel into v (keys v does not name
// are left out).
func readYAML(t *testing.T, rel string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}
