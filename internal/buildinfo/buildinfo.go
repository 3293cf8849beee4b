// Package buildinfo reports hdi's version, commit and Go version.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set at link time: -ldflags "-X github.com/hdi-dev/hdi/internal/buildinfo.Version=v0.1.0".
var (
	Version = "dev"
	Commit  = ""
)

// Info is what `hdi version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Modified  bool   `json:"modified,omitempty"`
}

// Get returns the build information, falling back to the VCS stamp Go
// embeds when no commit was set at link time.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}
