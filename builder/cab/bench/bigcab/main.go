// Command bigcab writes an update package for the responder benchmark: one
// update of UCPhone/Polycom/CX600/A/ENU with a CPE.nbt image of the given
// size (default 40 MB) and its catalog, laid out as a folder tree.
//
//	go run ./builder/cab/bench/bigcab -size 40 -out big.cab
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/duws/duws/builder/cab"
)

func main() {
	size := flag.Int("size", 40, "image size in MB")
	out := flag.String("out", "big.cab", "cabinet to write")
	version := flag.String("version", "4.0.7577.4444", "update version")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := cab.NewWriter(f)
	w.NewFolder(cab.None) // stored: the benchmark measures serving, not decoding
	dir := "UCPhone/Polycom/CX600/B/ENU/" + *version + "/CPE/"
	fw, _ := w.Create(dir + "CPE.nbt")
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for range *size {
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		fw.Write(buf)
	}
	fw, _ = w.Create(dir + "CPE.cat")
	fw.Write([]byte("benchmark catalog"))
	if err := w.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
