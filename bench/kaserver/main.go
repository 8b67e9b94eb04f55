// Command kaserver is the benchmark's HTTP server: static, keep-alive, one
// 612-byte page (nginx's default page size), so bench/net.sh measures the
// published-port path (netfilter DNAT) rather than connection set-up.
package main

import (
	"bytes"
	"log"
	"net/http"
	"os"
)

func main() {
	page := bytes.Repeat([]byte("x"), 612)
	addr := ":80"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write(page)
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
