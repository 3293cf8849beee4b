package main

import (
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
