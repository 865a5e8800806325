//go:build race

package manifest

// raceDetector: the race detector slows the parser ten times, so time bounds do not hold.
const raceDetector = true
