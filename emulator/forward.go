package emulator

import (
	"net/http"

	"github.com/spotfleet/spotfleet/emulator/lbhttp"
)

// forward sends a client's request to target t and its answer back (lbhttp.Forward), and
// counts what the target group's metrics count.
func (tg *targetGroup) forward(t *target, w http.ResponseWriter, r *http.Request) {
	lbhttp.Forward(t.transport, w, r, tg.lb.ListenerPort, tg)
}

// ClientClosed, ELBError and TargetError are lbhttp.Counts.
func (tg *targetGroup) ClientClosed()     { tg.clientClosed.Add(1) }
func (tg *targetGroup) ELBError(code int) { tg.elbError(code) }
func (tg *targetGroup) TargetError()      { tg.target5xx.Add(1) }
