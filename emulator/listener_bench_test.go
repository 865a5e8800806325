package emulator

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/spotfleet/spotfleet"
)

// BenchmarkListener: requests through the listener to one healthy target, over kept
// connections, 8 clients at once; allocs/op are the listener's and the clients'.
func BenchmarkListener(b *testing.B) {
	t := &testing.T{}
	addr := "127.0.0.6:" + strconv.Itoa(freePort(t))
	be := startBackend(t, addr)
	defer be.srv.Close()
	_, port, _ := net.SplitHostPort(addr)
	e, tg := listeningLB(t, port)
	defer e.Close()
	inspect(e, func() {
		x := tg.register("127.0.0.6", "i-1", nil)
		x.state = spotfleet.TargetHealthy
		tg.routableChanged()
	})
	url := "http://" + e.listeners[0].addr + "/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
