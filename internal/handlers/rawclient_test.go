package handlers_test

import (
	"bytes"
	"net"
	"testing"
)

// rawClient is one keep-alive HTTP/1.1 connection that sends prepared
// requests and reads their responses (Content-Length or chunked) into one
// reused buffer, allocating nothing once the buffer has grown.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	buf  []byte // the last response, head and body as received
	body []byte // its body, de-chunked
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn, buf: make([]byte, 0, 512<<10), body: make([]byte, 0, 512<<10)}
}

// last is the last response as received.
func (c *rawClient) last() []byte { return bytes.Clone(c.buf) }

// get sends req and reads the response whole.
func (c *rawClient) get(req []byte) (int, []byte) {
	if _, err := c.conn.Write(req); err != nil {
		c.t.Fatal(err)
	}
	c.buf, c.body = c.buf[:0], c.body[:0]
	head := -1
	for head < 0 {
		c.fill()
		head = bytes.Index(c.buf, []byte("\r\n\r\n"))
	}
	status := headerInt(c.buf[:head], "HTTP/1.1 ") // "HTTP/1.1 200 OK"
	if status < 100 {
		c.t.Fatalf("response %q", c.buf[:min(len(c.buf), 40)])
	}
	hdr, at := c.buf[:head+2], head+4
	if n := headerInt(hdr, "\r\nContent-Length: "); n >= 0 {
		for len(c.buf) < at+n {
			c.fill()
		}
		c.body = append(c.body, c.buf[at:at+n]...)
		return status, c.body
	}
	if !bytes.Contains(hdr, []byte("\r\nTransfer-Encoding: chunked\r\n")) {
		c.t.Fatalf("neither a length nor chunks: %q", hdr)
	}
	for {
		for !bytes.Contains(c.buf[at:], []byte("\r\n")) {
			c.fill()
		}
		eol := at + bytes.Index(c.buf[at:], []byte("\r\n"))
		n := 0
		for _, b := range c.buf[at:eol] {
			switch {
			case b >= '0' && b <= '9':
				n = n*16 + int(b-'0')
			case b >= 'a' && b <= 'f':
				n = n*16 + int(b-'a'+10)
			default:
				c.t.Fatalf("chunk size %q", c.buf[at:eol])
			}
		}
		at = eol + 2
		for len(c.buf) < at+n+2 {
			c.fill()
		}
		c.body = append(c.body, c.buf[at:at+n]...)
		at += n + 2
		if n == 0 {
			return status, c.body
		}
	}
}

func (c *rawClient) fill() {
	if len(c.buf) == cap(c.buf) {
		c.t.Fatal("response larger than the client's buffer")
	}
	n, err := c.conn.Read(c.buf[len(c.buf):cap(c.buf)])
	if err != nil {
		c.t.Fatal(err)
	}
	c.buf = c.buf[:len(c.buf)+n]
}

// headerInt is the number after name in a response head, -1 without it.
func headerInt(hdr []byte, name string) int {
	i := bytes.Index(hdr, []byte(name))
	if i < 0 {
		return -1
	}
	n := 0
	for _, b := range hdr[i+len(name):] {
		if b < '0' || b > '9' {
			break
		}
		n = n*10 + int(b-'0')
	}
	return n
}

// rawResponder answers every request on its connections, read up to its
// blank line, with resp, allocating nothing per request; it returns its
// address.
func rawResponder(t testing.TB, resp []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 64<<10)
				n := 0
				for {
					m, err := conn.Read(buf[n:])
					if err != nil { // the client or the test closed it
						return
					}
					n += m
					if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
						n = copy(buf, buf[i+4:n])
						if _, err := conn.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
