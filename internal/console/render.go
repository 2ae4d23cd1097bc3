package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/custd/custd/internal/customer"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/*
var staticFiles embed.FS

// pages are the parsed templates: each page is the layout, the shared parts and its own
// file, parsed once at start.
type pages struct {
	byName map[string]*template.Template
	assets map[string]asset
}

// asset is a static file with the digest its address carries, so that a browser may
// keep it until it changes.
type asset struct {
	data        []byte
	version     string
	contentType string
}

// sections tell the navigation which part of the console each page belongs to.
var sections = map[string]string{"customers": "customers", "customer": "customers", "close": "customers",
	"history": "customers", "requests": "requests", "webhooks": "webhooks", "users": "users"}

func parsePages() *pages {
	p := &pages{byName: map[string]*template.Template{}, assets: map[string]asset{}}
	files, err := fs.ReadDir(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		data, err := staticFiles.ReadFile("static/" + f.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		p.assets[f.Name()] = asset{data: data, version: hex.EncodeToString(sum[:6]), contentType: mime.TypeByExtension(path.Ext(f.Name()))}
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := p.assets[name]
			if !ok {
				return "", fmt.Errorf("no static file %s", name)
			}
			return Prefix + "static/" + name + "?v=" + a.version, nil
		},
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"whenp": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"iso":         func(t time.Time) string { return t.UTC().Format(timeLayout) },
		"customerURL": customerURL,
		"ms": func(d time.Duration) string {
			return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) + " ms"
		},
		"add": func(a, b int) int { return a + b },
		"dict": func(kv ...any) (map[string]any, error) {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
	views, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, v := range views {
		name := path.Base(v)
		if name == "layout.html" || name == "parts.html" {
			continue
		}
		t := template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/parts.html", v))
		p.byName[name[:len(name)-len(".html")]] = t
	}
	return p
}

// layout is what every page's frame shows around the page itself.
type layout struct {
	Title     string
	User      *customer.User
	CSRF      string
	Section   string
	CanWrite  bool
	Admin     bool
	RequestID string
	Page      any
}

// render writes a page with the given status.
func (c *console) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name, title string, page any) {
	data := layout{Title: title, Section: sections[name], Page: page}
	if st := stateOf(r); st != nil {
		data.RequestID = st.requestID
	}
	if v != nil && v.user != nil {
		data.User, data.CSRF = v.user, v.csrf
		data.CanWrite, data.Admin = v.user.Role.CanWrite(), v.user.Role == customer.RoleAdmin
	}
	var b bytes.Buffer
	t := c.pages.byName[name]
	if t == nil {
		panic("no page " + name)
	}
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		c.log.Error("rendering a console page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b.Bytes())
	}
}

// static serves the console's style sheet, script and icon. An address with the file's
// current digest may be kept by the browser for a year.
func (c *console) static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := c.pages.assets[r.PathValue("file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		if r.URL.Query().Get("v") == a.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
	})
}
