package fuzz

// Request heads for the fuzz targets' seed corpora: real client traffic, the RFC 9110/9112
// examples and the classic request-smuggling shapes.
var requestSeeds = []string{
	// RFC 9110 6.2 / RFC 9112 2.1 example
	"GET /hello.txt HTTP/1.1\r\nUser-Agent: curl/7.64.1\r\nHost: www.example.com\r\nAccept-Language: en, mi\r\n\r\n",
	// RFC 9112 3.2.2, 3.2.3, 3.2.4 examples
	"GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\nHost: www.example.org\r\n\r\n",
	"CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
	"GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n",
	// RFC 9112 7.1 chunked request
	"POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	// browser and API traffic
	"GET /wiki/Main_Page HTTP/1.1\r\nHost: en.wikipedia.org\r\nConnection: keep-alive\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: a=b; c=d\r\n\r\n",
	"POST /v1/orders HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nAuthorization: Bearer abc\r\nContent-Length: 13\r\n\r\n{\"qty\":12345}",
	"PUT /obj HTTP/1.1\r\nHost: s3.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
	"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"HEAD /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	"DELETE /items/7 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	// smuggling shapes (all rejected)
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n X: y\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
}
