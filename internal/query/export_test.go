package query

// Guess sets what g remembers for symbols (and the dataset asked for), as if
// a request had picked dataset at generation.
func (g *DatasetGuesses) Guess(asked string, symbols []string, generation int64, dataset string) {
	g.put(guessKey(asked, symbols), datasetGuess{generation: generation, dataset: dataset})
}
