package pgtest

import (
	"net/url"
	"strings"
)

// withDatabase returns dsn with its database replaced by name. It handles
// both URL and keyword/value connection strings.
func withDatabase(dsn, old, name string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		u.Path = "/" + name
		return u.String()
	}
	if old != "" && strings.Contains(dsn, "dbname="+old) {
		return strings.Replace(dsn, "dbname="+old, "dbname="+name, 1)
	}
	return dsn + " dbname=" + name
}
