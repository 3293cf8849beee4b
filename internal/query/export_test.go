package query

import "strings"

// Guess sets what g remembers for symbols, as if a request had picked it.
func (g *DatasetGuesses) Guess(symbols, all []string, dataset string) {
	g.put(strings.Join(symbols, ","), datasetGuess{all: all, dataset: dataset})
}
