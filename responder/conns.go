package responder

import (
	"net"
	"sync"
)

// maxConns bounds the connections one listener holds at once: each costs
// a goroutine and buffers (some 40 KiB with TLS), and whoever can reach a
// listener can open them. At the bound, Accept waits for a connection to
// close, so the excess waits in the kernel's backlog rather than in the
// responder's memory. 2,048 is room for a fleet's power-on storm on one
// listener, and each listener has its own: a flood of connections on the
// external one does not take the internal one's.
const maxConns = 2048

// limitListener is a listener that holds at most cap(sem) connections.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its listener's slot back when it is closed, once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
