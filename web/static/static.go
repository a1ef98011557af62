// Package static embeds the dashboard's own stylesheet and script and serves
// them under content-hashed names, so they can be cached forever.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

//go:embed *.css *.js
var files embed.FS

// Asset is one embedded file.
type Asset struct {
	Name        string // e.g. style.css
	Hashed      string // e.g. style.3f2a9c1b.css
	ContentType string
	Body        []byte
}

// Assets maps plain and hashed names to their files.
type Assets struct {
	byName   map[string]*Asset
	byHashed map[string]*Asset
}

// Load reads and hashes the embedded files.
func Load() (*Assets, error) {
	a := &Assets{byName: map[string]*Asset{}, byHashed: map[string]*Asset{}}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(p)
		as := &Asset{Name: p, Hashed: strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:6]) + ext, Body: body,
			ContentType: map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}[ext]}
		a.byName[p], a.byHashed[as.Hashed] = as, as
		return nil
	})
	return a, err
}

// Path returns the hashed name of a file; it panics on a name that is not
// embedded, which is a programming error caught by any page render test.
func (a *Assets) Path(name string) string {
	as, ok := a.byName[name]
	if !ok {
		panic(fmt.Sprintf("static: no asset %q", name))
	}
	return as.Hashed
}

// ByHashed finds a file by its hashed name.
func (a *Assets) ByHashed(name string) (*Asset, bool) {
	as, ok := a.byHashed[name]
	return as, ok
}
