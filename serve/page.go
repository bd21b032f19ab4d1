package serve

import (
	"embed"
	"io/fs"
	"net/http"
)

// web is the browser page: plain HTML, CSS and JavaScript, no build step.
//
//go:embed web
var web embed.FS

var webFS, _ = fs.Sub(web, "web")

// servePage answers GET / with the page.
func servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, webFS, "index.html")
}

// static serves the page's scripts and styles under /static/.
var static = http.StripPrefix("/static/", http.FileServerFS(webFS))

func serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	static.ServeHTTP(w, r)
}
