package probe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// dialTimeout bounds every network attempt. Refusals (a seccomp errno, a
// connection refused in an empty network namespace) come back at once;
// the timeout only matters for a datagram that is silently dropped.
const dialTimeout = 3 * time.Second

// writeProbe creates dir/name, writes to it, and removes it again when
// that worked.
func writeProbe(dir, missing, name string) Result {
	if dir == "" {
		return skipped(missing)
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return blocked(err)
	}
	_, werr := f.WriteString("written by sbx-probe\n")
	cerr := f.Close()
	if werr != nil {
		return blocked(werr)
	}
	if cerr != nil {
		return blocked(cerr)
	}
	_ = os.Remove(path)
	return allowed("created " + path)
}

// createProtected makes the missing protected name as a directory.
func createProtected(c *Config) Result {
	if c.ProtectedMissing == "" {
		return skipped("the policy protects fewer than two names, so there is no missing one to create")
	}
	if err := os.Mkdir(c.ProtectedMissing, 0o755); err != nil {
		return blocked(err)
	}
	_ = os.Remove(c.ProtectedMissing)
	return allowed("created " + c.ProtectedMissing)
}

// hardlinkProbe links the outside file into the workspace, then writes
// through the link: a sandbox that checks paths only would let the write
// through, because the link's path is inside the workspace.
func hardlinkProbe(c *Config) Result {
	switch {
	case c.OutsideFile == "":
		return skipped("no file outside the writable roots was found")
	case !c.SameDevice:
		return skipped("the outside directory is on another file system than the workspace, so no hard link is possible at all")
	}
	link := filepath.Join(c.Workspace, "probe-hardlink-"+c.Nonce)
	if err := os.Link(c.OutsideFile, link); err != nil {
		return blockedAt("link", err)
	}
	defer os.Remove(link)
	f, err := os.OpenFile(link, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return blockedAt("linked, but open", err)
	}
	defer f.Close()
	if _, err := f.WriteString("appended by sbx-probe through a hard link\n"); err != nil {
		return blockedAt("linked, but write", err)
	}
	return allowed("linked " + c.OutsideFile + " into the workspace and wrote through it")
}

// readProbe reads the outside file and checks it holds the nonce.
func readProbe(c *Config) Result {
	if c.OutsideFile == "" {
		return skipped("no file outside the read set was found")
	}
	b, err := os.ReadFile(c.OutsideFile)
	if err != nil {
		return blocked(err)
	}
	if !strings.Contains(string(b), c.Nonce) {
		return failed("read %s but it does not hold the harness's token", c.OutsideFile)
	}
	return allowed("read " + c.OutsideFile)
}

// tcpProbe sends the nonce to the harness's echo listener and checks the
// echo.
func tcpProbe(addr, nonce string) Result {
	if addr == "" {
		return skipped("the harness could not listen on this address family")
	}
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return blocked(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	if _, err := fmt.Fprintln(conn, nonce); err != nil {
		return blocked(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return blockedAt("connected, but no echo", err)
	}
	if strings.TrimSpace(line) != nonce {
		return blocked(fmt.Errorf("connected to something that is not the harness (echo %q)", strings.TrimSpace(line)))
	}
	return allowed("echo from " + addr)
}

// udpProbe sends the nonce in a datagram and waits for the echo.
func udpProbe(addr, nonce string) Result {
	if addr == "" {
		return skipped("the harness could not listen on this address family")
	}
	conn, err := net.DialTimeout("udp", addr, dialTimeout)
	if err != nil {
		return blocked(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	if _, err := conn.Write([]byte(nonce)); err != nil {
		return blocked(err)
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		return blockedAt("sent, but no reply", err)
	}
	if string(buf[:n]) != nonce {
		return blocked(fmt.Errorf("a reply that is not the harness's (%q)", buf[:n]))
	}
	return allowed("echo from " + addr)
}

// probeHost is the made-up host name the HTTP probes ask for. The
// proxy-honouring client sends the request to the proxy when one is set
// (so an advisory "dead proxy" stops it); otherwise its dialer maps the
// name to the harness's server. A loopback address cannot be used: Go's
// clients never proxy requests to localhost.
const probeHost = "sbx-probe.invalid"

// httpProbe GETs /nonce from the harness's HTTP server, either directly
// (no proxy, whatever the environment says) or like a cooperative tool.
func httpProbe(c *Config, honourProxy bool) Result {
	if c.HTTP == "" {
		return skipped("the harness's HTTP server is not running")
	}
	dialer := &net.Dialer{Timeout: dialTimeout}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == probeHost+":80" {
				addr = c.HTTP
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	target := "http://" + c.HTTP + "/" + c.Nonce
	via := "directly"
	if honourProxy {
		// The environment is read now (http.ProxyFromEnvironment reads it
		// once per process), with the same rules curl and Go use.
		proxyFor := httpproxy.FromEnvironment().ProxyFunc()
		tr.Proxy = func(r *http.Request) (*url.URL, error) { return proxyFor(r.URL) }
		target = "http://" + probeHost + "/" + c.Nonce
		u, _ := url.Parse(target)
		if p, err := proxyFor(u); err == nil && p != nil {
			via = "via the proxy " + p.Host
		} else {
			via = "directly (no proxy variable set)"
		}
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * dialTimeout}
	resp, err := client.Get(target)
	if err != nil {
		return blockedAt(via, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != c.Nonce {
		return blocked(fmt.Errorf("%s: answered %s by something that is not the harness", via, resp.Status))
	}
	return allowed("reached the harness " + via)
}

// dnsAnswer is the address the harness's DNS server gives for every name.
const dnsAnswer = "192.0.2.53"

// dnsName is the name the DNS probe looks up.
const dnsName = "probe.sbx.test"

// dnsProbe resolves a name through the harness's DNS server with Go's own
// resolver: a UDP query on the network, as a resolver library would send
// to a name server, answered without reaching the internet.
func dnsProbe(c *Config) Result {
	if c.DNS == "" {
		return skipped("the harness's DNS server is not running")
	}
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: dialTimeout}
			return d.DialContext(ctx, "udp", c.DNS)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*dialTimeout)
	defer cancel()
	addrs, err := r.LookupHost(ctx, dnsName)
	if err != nil {
		return blocked(unwrapDNS(err))
	}
	for _, a := range addrs {
		if a == dnsAnswer {
			return allowed("resolved " + dnsName + " to " + a + " through " + c.DNS)
		}
	}
	return blocked(fmt.Errorf("resolved to %v, not the harness's answer", addrs))
}

// unwrapDNS digs the errno out of a *net.DNSError when there is one.
func unwrapDNS(err error) error {
	if de, ok := err.(*net.DNSError); ok && de.UnwrapErr != nil {
		return de.UnwrapErr
	}
	return err
}
