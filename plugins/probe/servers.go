package probe

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// The harness's loopback servers. Each answers only what the probes ask:
// an echo of the nonce, an HTTP body holding it, a DNS answer. They run in
// the harness's process, outside every sandbox, so a probe that reaches
// one has crossed the network boundary.

// listenTCPEcho starts a TCP server on addr ("127.0.0.1:0") that echoes
// one line per connection.
func listenTCPEcho(addr string) (string, io.Closer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				line, err := bufio.NewReader(io.LimitReader(c, 4096)).ReadString('\n')
				if err == nil {
					_, _ = io.WriteString(c, line)
				}
			}()
		}
	}()
	return l.Addr().String(), l, nil
}

// listenUDPEcho starts a UDP server on addr that echoes each datagram.
func listenUDPEcho(addr string) (string, io.Closer, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return "", nil, err
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return pc.LocalAddr().String(), pc, nil
}

// listenHTTP starts an HTTP server on addr that answers GET /X with X.
func listenHTTP(addr string) (string, io.Closer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, strings.TrimPrefix(r.URL.Path, "/")+"\n")
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), srv, nil
}

// listenDNS starts a UDP DNS server on addr that answers every A query
// with dnsAnswer and every other query with no data.
func listenDNS(addr string) (string, io.Closer, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return "", nil, err
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, err := dnsResponse(buf[:n]); err == nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String(), pc, nil
}

// dnsResponse builds the answer to one DNS query: the header and first
// question copied back, plus one A record (192.0.2.53, TTL 60) when the
// question asks for an A record.
func dnsResponse(q []byte) ([]byte, error) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) < 1 {
		return nil, errors.New("not a DNS query")
	}
	// Walk the first question's name: labels up to a zero byte.
	i := 12
	for {
		if i >= len(q) {
			return nil, errors.New("truncated name")
		}
		l := int(q[i])
		if l == 0 {
			i++
			break
		}
		if l&0xC0 != 0 {
			return nil, errors.New("compressed name in a query")
		}
		i += 1 + l
	}
	if i+4 > len(q) {
		return nil, errors.New("truncated question")
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	question := q[12 : i+4]

	flags := uint16(0x8000) | (binary.BigEndian.Uint16(q[2:4]) & 0x0100) | 0x0080 // QR, RD copied, RA
	out := make([]byte, 12, 12+len(question)+16)
	copy(out[0:2], q[0:2])
	binary.BigEndian.PutUint16(out[2:4], flags)
	binary.BigEndian.PutUint16(out[4:6], 1)
	out = append(out, question...)
	if qtype == 1 { // A
		binary.BigEndian.PutUint16(out[6:8], 1)
		out = append(out,
			0xC0, 12, // name: pointer to the question's
			0, 1, 0, 1, // type A, class IN
			0, 0, 0, 60, // TTL
			0, 4, 192, 0, 2, 53)
	}
	return out, nil
}
