package pluginhost

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Prefix is the file name prefix of provider executables: hdi-provider-NAME.
const Prefix = "hdi-provider-"

// SearchPath returns the plugin directories in the order the CLI searches
// them: the entries of pluginPathEnv (the value of HDI_PLUGIN_PATH, split on
// colons; empty entries skipped), then exeDir (the directory of the hdi
// binary, skipped when empty), then ./bin.
func SearchPath(pluginPathEnv, exeDir string) []string {
	var dirs []string
	for _, d := range filepath.SplitList(pluginPathEnv) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if exeDir != "" {
		dirs = append(dirs, exeDir)
	}
	return append(dirs, "bin")
}

// ExecutableDir is the directory of the running executable, symlinks
// resolved: os.Executable, else argv[0] when it is a path (without /proc,
// as under a bare chroot, os.Executable fails); "" when neither tells.
func ExecutableDir() string {
	exe, err := os.Executable()
	if err != nil {
		if !strings.ContainsRune(os.Args[0], filepath.Separator) {
			return ""
		}
		if exe, err = filepath.Abs(os.Args[0]); err != nil {
			return ""
		}
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(exe)
}

// Found is a provider executable found on the plugin path.
type Found struct {
	Name string // NAME in hdi-provider-NAME
	Path string // absolute path of the executable
}

// Discover lists the hdi-provider-* executables in dirs. When two
// directories hold the same name, the earlier directory wins. Missing
// directories are skipped; other read errors are returned. The result is
// sorted by name.
func Discover(dirs []string) ([]Found, error) {
	seen := map[string]bool{}
	var out []Found
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("read plugin directory %s: %w (fix the plugin path, HDI_PLUGIN_PATH)", dir, err)
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || name == "" || seen[name] {
				continue
			}
			path, err := filepath.Abs(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("plugin %s: %w", e.Name(), err)
			}
			if !isExecutable(path) {
				continue
			}
			seen[name] = true
			out = append(out, Found{Name: name, Path: path})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// isExecutable reports whether path is a regular file (after symlinks) with
// an execute bit set.
func isExecutable(path string) bool {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	return st.Mode().Perm()&0o111 != 0
}
