package handlers

import (
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// queryParam is c.QueryParam(key), read from the raw query as
// url.ParseQuery reads it (pairs split at "&", a pair holding ";" skipped,
// "+" and %XX unescaped, a pair that does not unescape skipped) without
// making the whole query into a map of lists: the list page reads ten of
// its parameters at every view.
func queryParam(c echo.Context, key string) string {
	v, _ := scanQuery(c.Request().URL.RawQuery, key, false)
	return v
}

// queryParams is c.QueryParams()[key], read the same way (nil without it).
func queryParams(c echo.Context, key string) []string {
	_, all := scanQuery(c.Request().URL.RawQuery, key, true)
	return all
}

// scanQuery finds key's first value in a raw query, and with all every
// value in order.
func scanQuery(raw, key string, all bool) (first string, values []string) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k != key {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		if !all {
			return v, nil
		}
		values = append(values, v)
	}
	if len(values) > 0 {
		first = values[0]
	}
	return first, values
}
