package responder

import (
	"net"
	"testing"
	"time"
)

// TestListenerHoldsBoundedConnections: a listener holds at most its bound
// of connections; the next is accepted only once one of them closes, and
// closing a connection twice gives its slot back once.
func TestListenerHoldsBoundedConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const bound = 3
	ln := newLimitListener(raw, bound)
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range bound + 2 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	var held []net.Conn
	for range bound {
		select {
		case c := <-accepted:
			held = append(held, c)
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d connections accepted", len(held), bound)
		}
	}
	select {
	case <-accepted:
		t.Fatalf("a connection beyond the bound of %d was accepted", bound)
	case <-time.After(200 * time.Millisecond):
	}
	held[0].Close()
	held[0].Close() // a second close gives nothing more back
	select {
	case c := <-accepted:
		held = append(held, c)
	case <-time.After(5 * time.Second):
		t.Fatal("closing a connection did not let the next be accepted")
	}
	select {
	case <-accepted:
		t.Fatal("a double close gave back two slots")
	case <-time.After(200 * time.Millisecond):
	}
	for _, c := range held {
		c.Close()
	}
	ln.Close()
	for range accepted {
	}
}
