// Package parallel runs the steps of a loop on several goroutines, for
// the planning and writing of a tree.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Run runs f(0) … f(n-1) on every processor.
func Run(n int, f func(i int)) { RunN(runtime.GOMAXPROCS(0), n, f) }

// RunN runs f(0) … f(n-1) in the given number of goroutines.
func RunN(workers, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
