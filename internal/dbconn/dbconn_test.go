package dbconn

import (
	"strings"
	"testing"
)

// TestParseErrorsQuoteNoPassword: a connection string the parser cannot
// read fails with a reason that quotes none of it, since a password it
// could not place lands in another component (an unquoted space, an
// unencoded '&' or '@'); short quoted syntax ("=") stays.
func TestParseErrorsQuoteNoPassword(t *testing.T) {
	const secret = "SecretPW42"
	cases := map[string]string{
		"host=h password=Super SecretPW42 dbname=x":          `missing "=" after "…"`,
		"postgres://h/x?password=Super&SecretPW42":           `missing key/value separator "=" in URI query parameter: "…"`,
		"postgres://u:Super@SecretPW42@h/x":                  "more than one '@' before the host",
		"postgresql://u:Super@SecretPW42@h:5432/x?a=b":       "more than one '@' before the host",
		"postgres://u:SuperSecretPW42@h:abc/x":               "malformed connection string",
		"postgres://h:Super%zzSecretPW42/x":                  `invalid percent-encoded token: "…"`,
		"postgres://postgres:Super%zzSecretPW42@127.0.0.1/x": "invalid percent-encoded token in password",
	}
	for url, want := range cases {
		for name, parse := range map[string]func(string) error{
			"ParseTarget": func(u string) error { _, err := ParseTarget(u); return err },
			"PoolConfig":  func(u string) error { _, err := PoolConfig(u); return err },
		} {
			err := parse(url)
			if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), want) {
				t.Errorf("%s(%q) = %v, want an error with %q and without the password", name, url, err, want)
			}
		}
	}
	if _, err := ParseTarget("postgres://u:p%40ss@h/x?application_name=a@b"); err != nil {
		t.Errorf("an encoded '@' and one after the path are fine: %v", err)
	}
}
