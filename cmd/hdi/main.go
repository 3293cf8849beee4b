// Command hdi is the SQL-first, plugin-driven ETL tool for historical market
// data. This package only wires flags and commands to the internal packages.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
