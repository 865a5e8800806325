package market

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Every draw of the market comes from a stream named by what it is about (a pool, a region
// and type, a zone and family) and the run's seed, never from one generator that the fleet
// also draws from: so run i of one simulation shows every controller and every manifest
// the same market, and a pool's capacity does not depend on which other pools a manifest
// lists.

// key hashes a stream's name.
func key(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// stream is the random stream of one name in one run.
func stream(seed uint64, parts ...string) *rand.Rand {
	return rand.New(rand.NewPCG(seed, key(parts...)))
}

// mix is splitmix64's finaliser: a well-spread function of its input.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// uniform is a draw in [0, 1) that depends only on the seed, a name and a number: whether
// one pool joins one shared shock, whatever else is drawn.
func uniform(seed uint64, k uint64, parts ...string) float64 {
	return float64(mix(mix(seed^key(parts...))+k)>>11) / (1 << 53)
}

// lognormal is a draw with mean 1 whose logarithm has standard deviation sigma.
func lognormal(r *rand.Rand, sigma float64) float64 {
	return math.Exp(sigma*r.NormFloat64() - sigma*sigma/2)
}
