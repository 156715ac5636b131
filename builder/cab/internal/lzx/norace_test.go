//go:build !race

package lzx

const raceEnabled = false
