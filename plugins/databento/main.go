// Command hdi-provider-databento is the hdi provider for Databento: the
// historical HTTP API and local DBN files. See package dbprov.
package main

import (
	"github.com/hdi-dev/hdi/plugins/databento/dbprov"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

func main() { sdk.Serve(dbprov.New()) }
