// Command hdi-provider-csv is the hdi provider for delimited text files
// (plain, gzip or zstd). The job declares the columns; see package csvprov.
package main

import (
	"github.com/hdi-dev/hdi/plugins/csv/csvprov"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

func main() { sdk.Serve(csvprov.New()) }
