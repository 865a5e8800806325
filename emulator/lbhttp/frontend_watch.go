package lbhttp

import "time"

// The watch: a request that runs past frontWatchAfter gets a second goroutine that reads
// its connection, to see the client leave (frontend.go says why only then).

// The watch's states. Only the connection's goroutine moves it to idle or armed; the
// watcher moves it from armed to watching, and from watching to watched.
const (
	watchIdle     = iota
	watchArmed    // the handler runs and the request body is read: the timer may start the watch
	watchWatching // the watcher reads the connection
	watchStopping // the connection's goroutine wants the connection back
	watchWatched  // the watcher is done
)

func (fc *frontConn) armWatch() {
	fc.watch.Store(watchArmed)
	fc.timer.Reset(frontWatchAfter)
}

// watchClient is the watcher: the timer starts it when a request runs long. It reads the
// connection until the client sends more (the next request, kept in br) or leaves, which
// cancels the request, or until the connection's goroutine takes the connection back.
func (fc *frontConn) watchClient() {
	if !fc.watch.CompareAndSwap(watchArmed, watchWatching) {
		return // the request was answered first
	}
	defer func() { fc.watchDone <- struct{}{} }()
	for {
		_, err := fc.br.Peek(1)
		if err != nil && isTimeout(err) && fc.watch.Load() == watchWatching {
			fc.arm(time.Now().Add(fc.f.idle)) // a long request is not an idle connection
			if fc.watch.Load() != watchWatching {
				fc.c.SetReadDeadline(time.Unix(1, 0)) // stopWatch's deadline, which arm overwrote
			}
			continue
		}
		if fc.watch.CompareAndSwap(watchWatching, watchWatched) && err != nil {
			fc.cancel() // the client left before its answer
		}
		return
	}
}

// stopWatch takes the connection back from the watcher, if it started.
func (fc *frontConn) stopWatch() {
	if fc.timer.Stop() || fc.watch.CompareAndSwap(watchArmed, watchIdle) || fc.watch.Load() == watchIdle {
		fc.watch.Store(watchIdle)
		return
	}
	if fc.watch.CompareAndSwap(watchWatching, watchStopping) {
		fc.c.SetReadDeadline(time.Unix(1, 0)) // ends the watcher's read
	}
	<-fc.watchDone
	fc.c.SetReadDeadline(fc.deadline)
	fc.watch.Store(watchIdle)
}
