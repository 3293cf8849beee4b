package config

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask hides a secret value, keeping only whether it is set.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	return "****"
}

// IsSecretKey reports whether a provider config key holds a secret.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"key", "secret", "password", "token", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// RedactURL hides the password of a PostgreSQL URL or keyword/value DSN.
func RedactURL(s string) string {
	if s == "" {
		return s
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return kvPassword.ReplaceAllString(s, "${1}xxxxx")
}
