// Package web is the page `hdi serve` shows at /: a chart of bars with
// back-adjustment and roll markers, the coverage heat map, and the runs,
// updating live. Everything it loads comes from hdi itself (go:embed): the
// charting library is TradingView's lightweight-charts, vendored from npm
// (web/package.json; `make web-assets` copies it, `make check-generated`
// checks the copy).
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Paths are the URL paths of the page and its assets (chi patterns).
func Paths() []string {
	return []string{"/", "/index.html", "/app.js", "/style.css", "/vendor/*"}
}

// Handler serves the page and its assets, with a Content-Security-Policy
// that lets it load nothing from another origin.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "the page only reads (GET)", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		// The charting library styles its elements inline; scripts stay
		// strictly our own.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		files.ServeHTTP(w, r)
	})
}
