// Package web is the page `hdi serve` shows at /: a chart of bars with
// back-adjustment and roll markers, the coverage heat map, and the runs,
// updating live. Everything it loads comes from hdi itself (go:embed): the
// charting library is TradingView's lightweight-charts, vendored from npm
// (web/package.json; `make web-assets` copies it, `make check-generated`
// checks the copy).
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// Paths are the URL paths of the page and its files: / and each embedded
// file by its name (exact chi patterns: no directory is a path).
func Paths() []string {
	paths := []string{"/"}
	_ = fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, strings.TrimPrefix(p, "assets"))
		}
		return err
	})
	return paths
}

// Handler serves the page and its files by name, with a
// Content-Security-Policy that lets it load nothing from another origin.
// / is index.html; a path that names no file, a directory included (none is
// ever listed), goes to notFound.
func Handler(notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" {
			name = "index.html"
		}
		var b []byte
		err := fs.ErrNotExist
		if fs.ValidPath(name) {
			b, err = assets.ReadFile("assets/" + name) // a directory is an error too
		}
		if err != nil {
			notFound.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		// The charting library styles its elements inline; scripts stay
		// strictly our own.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	})
}
