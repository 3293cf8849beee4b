// Command hdi is the SQL-first, plugin-driven ETL tool for historical market
// data. This package only wires flags and commands to the internal packages.
package main

import (
	"os"
	"path/filepath"
)

// bundled maps an executable name (hdi-provider-NAME) to a provider this
// binary serves when it is started under that name. It is empty unless hdi
// is built with -tags bundle, as for the container image, where the
// providers are links to hdi: one executable instead of three copies of the
// same libraries. hdi still starts them as separate plugin processes.
var bundled map[string]func()

func main() {
	if serve, ok := bundled[filepath.Base(os.Args[0])]; ok {
		serve()
		return
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
