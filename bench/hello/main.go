// Command hello is the machine's ceiling for the load benchmark: the
// smallest possible net/http server, answering every request with a short
// JSON body (or, with -size, a JSON body of that many bytes, to show what
// the response's size alone costs).
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	size := flag.Int("size", 0, "answer with a JSON body of this many bytes instead")
	flag.Parse()
	body := []byte(`{"hello":"world"}` + "\n")
	if *size > len(body) {
		body = []byte(`{"hello":"` + strings.Repeat("w", *size-len(`{"hello":""}`)-1) + `"}` + "\n")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
