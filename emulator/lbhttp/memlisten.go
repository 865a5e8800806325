package lbhttp

import (
	"errors"
	"net"
	"sync"
)

// memListener is an in-memory listener: Accept blocks on a channel, which synctest counts
// as durably blocked (a real socket would stop virtual time).
type memListener struct {
	addr   string
	closed chan struct{}
	once   sync.Once
}

// MemListen opens an in-memory listener that accepts nothing: Options.Listen for tests
// under testing/synctest and for simulations.
func MemListen(addr string) (net.Listener, error) {
	return &memListener{addr: addr, closed: make(chan struct{})}, nil
}

func (l *memListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, errors.New("listener closed")
}
func (l *memListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *memListener) Addr() net.Addr { return fakeAddr(l.addr) }

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
