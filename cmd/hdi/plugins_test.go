package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/testbin"
)

func TestPluginsListAndDescribe(t *testing.T) {
	env := map[string]string{"HDI_PLUGIN_PATH": testbin.Dir(t)}
	out, _ := mustRun(t, env, "plugins", "list", "--format", "json")
	var list []struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Path    string `json:"path"`
		Streams []struct {
			Name string `json:"name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("plugins list json: %v\n%s", err, out)
	}
	var found bool
	for _, p := range list {
		if p.Name == "databento" {
			found = true
			if p.Version == "" || !strings.HasPrefix(p.Path, testbin.Dir(t)) || len(p.Streams) < 20 {
				t.Fatalf("databento plugin: %+v", p)
			}
		}
	}
	if !found {
		t.Fatalf("databento plugin not listed: %s", out)
	}
	out, _ = mustRun(t, env, "plugins", "describe", "databento")
	for _, want := range []string{"trades", "ts_recv", "api_key", "secret"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	code, _, stderr := runCLI(t, env, "plugins", "describe", "nosuchplugin")
	if code != exitFailure || !strings.Contains(stderr, "hdi-provider-nosuchplugin") {
		t.Fatalf("unknown plugin: exit %d %s", code, stderr)
	}
}
