//go:build race

package lzx

// raceEnabled: the race detector slows the tests down some tenfold, and
// the package runs no goroutines, so the slowest tests do less under it.
const raceEnabled = true
