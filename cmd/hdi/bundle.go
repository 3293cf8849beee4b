//go:build bundle

package main

import (
	"github.com/hdi-dev/hdi/plugins/csv/csvprov"
	"github.com/hdi-dev/hdi/plugins/databento/dbprov"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// The shipped providers, for the container image (see bundled).
func init() {
	bundled = map[string]func(){
		"hdi-provider-databento": func() { sdk.Serve(dbprov.New()) },
		"hdi-provider-csv":       func() { sdk.Serve(csvprov.New()) },
	}
}
