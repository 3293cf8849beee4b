package main

import (
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/testbin"
)

func TestMain(m *testing.M) { pgtest.Main(m, testbin.NoLeftovers) }
