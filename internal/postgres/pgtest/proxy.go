package pgtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy forwards the TCP connections of a PostgreSQL URL to its server. Freeze stops it
// forwarding bytes, in both directions, on every connection, old and new, so that the
// server looks frozen to those who connect through it (as a server stopped with SIGSTOP,
// or behind a network that dropped every packet, does) while it keeps serving everyone
// else; Thaw forwards what was held and goes on.
type Proxy struct {
	// URL is the URL given to NewProxy, with the proxy's address as its host.
	URL string

	ln     net.Listener
	target string

	mu     sync.Mutex
	thawed chan struct{} // closed while bytes flow
	conns  map[net.Conn]bool
	closed bool
}

// NewProxy starts a proxy on a loopback port in front of the server of dbURL. It stops
// when the test ends.
func NewProxy(t testing.TB, dbURL string) *Proxy {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: u.Host, thawed: make(chan struct{}), conns: map[net.Conn]bool{}}
	close(p.thawed)
	if u.Port() == "" {
		p.target = net.JoinHostPort(u.Hostname(), "5432")
	}
	u.Host = ln.Addr().String()
	p.URL = u.String()
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Freeze stops forwarding bytes.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
		p.thawed = make(chan struct{})
	default:
	}
}

// Thaw forwards again, beginning with the bytes held since Freeze.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
}

func (p *Proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client, server) {
			return
		}
		go p.pump(client, server)
		go p.pump(server, client)
	}
}

// track records a connection pair to close with the proxy; false if it is closed already.
func (p *Proxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		a.Close()
		b.Close()
		return false
	}
	p.conns[a], p.conns[b] = true, true
	return true
}

// pump copies from src to dst while thawed; when either side ends, both do.
func (p *Proxy) pump(src, dst net.Conn) {
	defer p.forget(src, dst)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thawed := p.thawed
			p.mu.Unlock()
			<-thawed
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// forget closes a connection pair.
func (p *Proxy) forget(a, b net.Conn) {
	a.Close()
	b.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, a)
	delete(p.conns, b)
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	p.Thaw()
	p.ln.Close()
	for c := range conns {
		c.Close()
	}
}
