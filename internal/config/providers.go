package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ProviderKey is a configuration key a provider declares.
type ProviderKey struct {
	Name   string
	Secret bool
}

// CheckProviders checks the providers section of the config file against
// what the providers declare. declared holds the keys of each provider that
// answered; installed names every provider found on the plugin path,
// whether it answered or not.
//
// A key its provider does not declare is an error naming the file, the line
// and the key, with the nearest declared key; so is the section of a
// provider that is not installed when its name is close to one that is (a
// misspelt name). The section of a provider that is not installed, or did
// not answer, is not checked. Afterwards Show prints in clear only the
// values of declared keys that are not secret; it masks all others.
func (c *Config) CheckProviders(declared map[string][]ProviderKey, installed []string) error {
	for _, p := range c.inFileOrder("providers.", sortedKeys(c.Providers)) {
		keys, ok := declared[p]
		if !ok {
			if !slices.Contains(installed, p) {
				if hint := didYouMean(p, installed); hint != "" {
					return fmt.Errorf("%s: no provider %q is installed%s; installed: %s", c.fileAt("providers."+p), p, hint, strings.Join(installed, ", "))
				}
			}
			continue
		}
		known := make([]string, 0, len(keys))
		public := map[string]bool{}
		for _, k := range keys {
			known = append(known, k.Name)
			public[k.Name] = !k.Secret
		}
		slices.Sort(known)
		for _, k := range c.inFileOrder("providers."+p+".", sortedKeys(c.Providers[p])) {
			if !slices.Contains(known, k) {
				full := make([]string, len(known))
				for i, n := range known {
					full[i] = "providers." + p + "." + n
				}
				takes := "takes no settings"
				if len(known) > 0 {
					takes = "takes: " + strings.Join(known, ", ")
				}
				key := "providers." + p + "." + k
				return fmt.Errorf("%s: unknown key %q%s; the %s provider %s", c.fileAt(key), key, didYouMean(key, full), p, takes)
			}
		}
		c.public[p] = public
	}
	return nil
}

// inFileOrder sorts keys (under prefix) by their line in the config file.
func (c *Config) inFileOrder(prefix string, keys []string) []string {
	slices.SortStableFunc(keys, func(a, b string) int {
		return cmp.Compare(c.nestedSrc[prefix+a].line, c.nestedSrc[prefix+b].line)
	})
	return keys
}

// fileAt is "PATH:LINE" of a key read from the config file.
func (c *Config) fileAt(key string) string {
	return strings.TrimPrefix(c.nestedSrc[key].source, "file ")
}

// ProviderSecrets are the provider values of the config file that Show
// masks, for a logging.Redactor.
func (c *Config) ProviderSecrets() []string {
	var out []string
	for p, m := range c.Providers {
		for k, v := range m {
			if !c.public[p][k] {
				out = append(out, v)
			}
		}
	}
	return out
}
