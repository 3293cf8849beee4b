package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hdi.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noFlags() Flags { return Flags{Values: map[string]string{}, Set: map[string]bool{}} }

func shown(c *Config, key string) Shown {
	for _, s := range c.Show() {
		if s.Key == key {
			return s
		}
	}
	return Shown{}
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	file := writeFile(t, "log_level: debug\nlog_format: json\njobs_dir: /from/file\nplugin_timeout: 5s\n")
	env := envOf(map[string]string{"HDI_LOG_LEVEL": "warn", "HDI_JOBS_DIR": "/from/env", "HOME": t.TempDir()})
	flags := noFlags()
	flags.Values["log-level"], flags.Set["log-level"] = "error", true

	c, err := Load(flags, env, file)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ key, value, source string }{
		{"log_level", "error", "flag --log-level"},
		{"jobs_dir", "/from/env", "env HDI_JOBS_DIR"},
		{"log_format", "json", "file " + file + ":2"},
		{"plugin_timeout", "5s", "file " + file + ":4"},
		{"queries_dir", "", "default"},
	}
	for _, tc := range cases {
		s := shown(c, tc.key)
		if s.Value != tc.value || s.Source != tc.source {
			t.Errorf("%s = %q from %q, want %q from %q", tc.key, s.Value, s.Source, tc.value, tc.source)
		}
	}
	if c.LogLevel != "error" || c.JobsDir != "/from/env" || c.PluginTimeout != 5*time.Second {
		t.Errorf("typed fields wrong: %+v", c)
	}
}

func TestDatabaseURLFallsBackToDATABASE_URL(t *testing.T) {
	c, err := Load(noFlags(), envOf(map[string]string{"DATABASE_URL": "postgres://a@h/db", "HOME": t.TempDir()}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://a@h/db" || shown(c, "database_url").Source != "env DATABASE_URL" {
		t.Fatalf("got %q from %q", c.DatabaseURL, shown(c, "database_url").Source)
	}
	c, err = Load(noFlags(), envOf(map[string]string{"DATABASE_URL": "postgres://a@h/db", "HDI_DATABASE_URL": "postgres://b@h/db", "HOME": t.TempDir()}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://b@h/db" {
		t.Fatalf("HDI_DATABASE_URL must win over DATABASE_URL, got %q", c.DatabaseURL)
	}
}

func TestXDGConfigFileIsFound(t *testing.T) {
	xdg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(xdg, "hdi"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(xdg, "hdi", "config.yaml")
	if err := os.WriteFile(p, []byte("queries_dir: /q\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // no ./hdi.yaml here
	c, err := Load(noFlags(), envOf(map[string]string{"XDG_CONFIG_HOME": xdg}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.QueriesDir != "/q" || c.File != p {
		t.Fatalf("queries_dir=%q file=%q", c.QueriesDir, c.File)
	}
}

func TestStrictParsingErrorsNameFileLineAndKey(t *testing.T) {
	cases := []struct{ body, want string }{
		{"log_level: info\ndatabse_url: x\n", ":2: unknown key \"databse_url\" (did you mean \"database_url\"?); known keys: database_url, "},
		{"plugin_timeout: soon\n", ":1: key \"plugin_timeout\": \"soon\" is not a positive duration"},
		{"log_level: [a, b]\n", ":1: key \"log_level\" must be a single value, not a list"},
		{"log_format: xml\n", ":1: key \"log_format\": \"xml\" is not a log format"},
		{"providers:\n  databento: 3\n", ":2: key \"providers.databento\" must be a mapping"},
		{"jobs_dir: a\njobs_dir: b\n", ":2: key \"jobs_dir\" is given twice"},
		{"- a\n- b\n", ":1: the config file must be a mapping"},
		{"a: [\n", "hdi.yaml"},
		{"worker:\n  rescue_afte: 10s\n", ":2: unknown key \"worker.rescue_afte\" (did you mean \"worker.rescue_after\"?)"},
		{"worker:\n  rescue_after: 0s\n", ":2: key \"worker.rescue_after\": \"0s\" is not a positive duration"},
		{"worker: 10s\n", ":1: key \"worker\" must be a mapping"},
	}
	for _, tc := range cases {
		p := writeFile(t, tc.body)
		_, err := Load(noFlags(), envOf(nil), p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p[:len(p)-len("hdi.yaml")]) {
			t.Errorf("body %q: error %v, want it to name the file and contain %q", tc.body, err, tc.want)
		}
	}
}

func TestMissingExplicitConfigFileIsAnError(t *testing.T) {
	if _, err := Load(noFlags(), envOf(nil), filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
		t.Fatal("want an error for a missing --config file")
	}
}

func TestBadEnvValueNamesItsSource(t *testing.T) {
	_, err := Load(noFlags(), envOf(map[string]string{"HDI_LOG_LEVEL": "loud", "HOME": t.TempDir()}), "")
	if err == nil || !strings.Contains(err.Error(), "env HDI_LOG_LEVEL") {
		t.Fatalf("got %v", err)
	}
}

func TestShowMasksSecrets(t *testing.T) {
	file := writeFile(t, "database_url: postgres://hdi:s3cretpw@db.example:5432/hdi\nproviders:\n  databento:\n    api_key: db-ABCDEFGHIJKLMNOP\n    base_url: http://127.0.0.1:9999\n")
	c, err := Load(noFlags(), envOf(map[string]string{"HOME": t.TempDir()}), file)
	if err != nil {
		t.Fatal(err)
	}
	show := func() string {
		var all strings.Builder
		for _, s := range c.Show() {
			all.WriteString(s.Key + "=" + s.Value + " ")
		}
		return all.String()
	}
	// Before the provider declares its keys, all of its section is masked.
	out := show()
	for _, want := range []string{"providers.databento.api_key=****", "providers.databento.base_url=****", "postgres://hdi:xxxxx@db.example:5432/hdi"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q: %s", want, out)
		}
	}
	if err := c.CheckProviders(map[string][]ProviderKey{"databento": {{Name: "api_key", Secret: true}, {Name: "base_url"}}}, []string{"databento"}); err != nil {
		t.Fatal(err)
	}
	out = show()
	for _, secret := range []string{"s3cretpw", "db-ABCDEFGHIJKLMNOP"} {
		if strings.Contains(out, secret) {
			t.Errorf("config show leaks %q: %s", secret, out)
		}
	}
	for _, want := range []string{"providers.databento.api_key=****", "providers.databento.base_url=http://127.0.0.1:9999", "postgres://hdi:xxxxx@db.example:5432/hdi"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q: %s", want, out)
		}
	}
	if c.ProviderConfig("databento")["api_key"] != "db-ABCDEFGHIJKLMNOP" {
		t.Error("the provider config must keep the real key for the provider")
	}
	if got := c.ProviderSecrets(); len(got) != 1 || got[0] != "db-ABCDEFGHIJKLMNOP" {
		t.Errorf("ProviderSecrets = %q, want the api_key alone", got)
	}
}

// TestCheckProviders: a key the provider does not declare is one error
// naming the file, the line, the key and the nearest declared key, and is
// masked whatever its name; a section of a provider that is not installed,
// or did not answer, is masked and not checked, unless its name is close
// to an installed one.
func TestCheckProviders(t *testing.T) {
	declared := map[string][]ProviderKey{"databento": {{Name: "api_key", Secret: true}, {Name: "base_url"}, {Name: "timeout"}}}
	cases := []struct {
		name, body string
		installed  []string
		wantErr    string
		shown      map[string]string // key -> value config show prints
	}{
		{
			name: "misspelt secret key", installed: []string{"databento"},
			body:    "providers:\n  databento:\n    base_url: http://h\n    api_kee: db-MISSPELTKEY123\n",
			wantErr: `:4: unknown key "providers.databento.api_kee" (did you mean "providers.databento.api_key"?); the databento provider takes: api_key, base_url, timeout`,
		},
		{
			name: "first mistake in file order", installed: []string{"databento"},
			body:    "providers:\n  databento:\n    zzz: 1\n    aaa: 2\n",
			wantErr: `:3: unknown key "providers.databento.zzz"; the databento provider takes: api_key, base_url, timeout`,
		},
		{
			name: "misspelt provider", installed: []string{"csv", "databento"},
			body:    "providers:\n  databentoo:\n    api_key: db-MISSPELTKEY123\n",
			wantErr: `:2: no provider "databentoo" is installed (did you mean "databento"?); installed: csv, databento`,
		},
		{
			name: "provider not installed", installed: []string{"databento"},
			body:  "providers:\n  other:\n    base_url: http://other\n  databento:\n    base_url: http://h\n    api_key: db-SECRET\n",
			shown: map[string]string{"providers.other.base_url": "****", "providers.databento.base_url": "http://h", "providers.databento.api_key": "****"},
		},
		{
			name: "provider did not answer", installed: []string{"databento", "broken"},
			body:  "providers:\n  broken:\n    base_url: http://b\n    colour: blue\n",
			shown: map[string]string{"providers.broken.base_url": "****", "providers.broken.colour": "****"},
		},
		{
			name: "no settings declared", installed: []string{"databento", "bare"},
			body:    "providers:\n  bare:\n    x: 1\n",
			wantErr: `:3: unknown key "providers.bare.x"; the bare provider takes no settings`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.body)
			c, err := Load(noFlags(), envOf(map[string]string{"HOME": t.TempDir()}), p)
			if err != nil {
				t.Fatal(err)
			}
			decl := map[string][]ProviderKey{"bare": nil}
			for k, v := range declared {
				decl[k] = v
			}
			err = c.CheckProviders(decl, tc.installed)
			if tc.wantErr != "" {
				if err == nil || err.Error() != p+tc.wantErr {
					t.Fatalf("error %v, want %q", err, p+tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.shown {
				if got := shown(c, k).Value; got != want {
					t.Errorf("%s shown as %q, want %q", k, got, want)
				}
			}
		})
	}
}

// probeURLs are the database URLs a fault probe made config show print in
// clear (issue 24): they do not parse.
var probeURLs = []struct{ url, want string }{
	{"postgres://postgres:SuperSecretPW42@127.0.0.1:abc/x", "postgres://postgres:xxxxx@127.0.0.1:abc/x"},
	{"postgres://postgres:Super%zzSecretPW42@127.0.0.1:5432/x", "postgres://postgres:xxxxx@127.0.0.1:5432/x"},
	{"postgres://postgres:SuperSecretPW42@[::1/x", "postgres://postgres:xxxxx@[::1/x"},
	{"host=127.0.0.1 port=abc password=SuperSecretPW42 dbname=x", "host=127.0.0.1 port=abc password=xxxxx dbname=x"},
	{`host=127.0.0.1 password='Super\' SecretPW42' dbname=x`, "host=127.0.0.1 password=xxxxx dbname=x"},
}

func TestShowMasksUnparsableDatabaseURL(t *testing.T) {
	for _, tc := range probeURLs {
		for _, how := range []string{"flag", "env", "file"} {
			flags, env, file := noFlags(), map[string]string{"HOME": t.TempDir()}, ""
			switch how {
			case "flag":
				flags.Values["database-url"], flags.Set["database-url"] = tc.url, true
			case "env":
				env["HDI_DATABASE_URL"] = tc.url
			case "file":
				file = writeFile(t, "database_url: \""+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(tc.url)+"\"\n")
			}
			c, err := Load(flags, envOf(env), file)
			if err != nil {
				t.Fatal(err)
			}
			if c.DatabaseURL != tc.url {
				t.Fatalf("%s: read %q, want %q", how, c.DatabaseURL, tc.url)
			}
			if got := shown(c, "database_url").Value; got != tc.want {
				t.Errorf("%s %q: shown as %q, want %q", how, tc.url, got, tc.want)
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"postgres://u:pw@h:1/d":                         "postgres://u:xxxxx@h:1/d",
		"postgres://u@h/d?password=pw&x=1":              "postgres://u@h/d?password=xxxxx&x=1",
		"postgres://u@h/d?sslpassword=pw&x=1":           "postgres://u@h/d?sslpassword=xxxxx&x=1",
		"postgres://u@h/d?pass%77ord=pw&x=1":            "postgres://u@h/d?pass%77ord=xxxxx&x=1",
		"postgres://u@h/d?password=a&b&x=1":             "postgres://u@h/d?password=xxxxx&x=1",
		"postgres://u@h/d?password=a b":                 "postgres://u@h/d?password=xxxxx",
		"host=h user=u password=pw dbname=d":            "host=h user=u password=xxxxx dbname=d",
		"host=h password='p w' dbname=d":                "host=h password=xxxxx dbname=d",
		`host=h password = 'p\'w' dbname=d`:             "host=h password = xxxxx dbname=d",
		`host=h password=p\ w dbname=d`:                 "host=h password=xxxxx dbname=d",
		"host=h password=p w dbname=d":                  "host=h password=xxxxx dbname=d",
		"host=h password='unterminated dbname=d":        "host=h password=xxxxx",
		"host=h PASSWORD=pw sslpassword=pw2":            "host=h PASSWORD=xxxxx sslpassword=xxxxx",
		"postgres://u@h/d":                              "postgres://u@h/d",
		"postgres://u@h:5432/d":                         "postgres://u@h:5432/d",
		"":                                              "",
		"postgres://u:p@ss/w?rd@h/d":                    "postgres://u:xxxxx@h/d",
		"u:pw@h:5432/d":                                 "u:xxxxx@h:5432/d",
		`"postgres://u:pw@h/d"`:                         `"postgres://u:xxxxx@h/d"`,
		"postgresql://u:pw@h1:1,h2:2/d?sslmode=disable": "postgresql://u:xxxxx@h1:1,h2:2/d?sslmode=disable",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPasswordsOfUnparsableURLs: the redactor gets the password of a
// connection string that does not parse, as written and as pgx would
// decode it.
func TestPasswordsOfUnparsableURLs(t *testing.T) {
	cases := map[string][]string{
		"postgres://postgres:SuperSecretPW42@127.0.0.1:abc/x":       {"SuperSecretPW42"},
		"postgres://postgres:Super%zzSecretPW42@127.0.0.1:5432/x":   {"Super%zzSecretPW42"},
		"postgres://postgres:Super%41SecretPW42@127.0.0.1:5432/x":   {"Super%41SecretPW42", "SuperASecretPW42"},
		"postgres://postgres:SuperSecretPW42@[::1/x":                {"SuperSecretPW42"},
		"postgres://u:Super@SecretPW42@h/d":                         {"Super@SecretPW42", "Super"},
		`host=h password='Super\' SecretPW42' dbname=x`:             {`'Super\' SecretPW42'`, "Super' SecretPW42"},
		"host=127.0.0.1 port=abc password=SuperSecretPW42 dbname=x": {"SuperSecretPW42"},
	}
	for in, want := range cases {
		got := Passwords(in)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("Passwords(%q) = %q, lacks %q", in, got, w)
			}
		}
		for i := 1; i < len(got); i++ {
			if len(got[i]) > len(got[i-1]) {
				t.Errorf("Passwords(%q) = %q: not longest first", in, got)
			}
		}
	}
}

func TestGroupedSettings(t *testing.T) {
	p := writeFile(t, "log_level: info\nworker:\n  rescue_after: 12s\n")
	c, err := Load(noFlags(), envOf(nil), p)
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkerRescueAfter != 12*time.Second || !strings.HasSuffix(c.values["worker.rescue_after"].Source, ":3") {
		t.Errorf("worker.rescue_after %v from %q", c.WorkerRescueAfter, c.values["worker.rescue_after"].Source)
	}
	c, err = Load(noFlags(), envOf(map[string]string{"HDI_WORKER_RESCUE_AFTER": "45s"}), p)
	if err != nil || c.WorkerRescueAfter != 45*time.Second {
		t.Errorf("env: %v %v", c.WorkerRescueAfter, err)
	}
}
