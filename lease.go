package spotfleet

import (
	"context"
	"errors"
	"time"
)

// Lease is the right to act on a fleet: of the controllers that run for it, only the one
// holding the lease receives events and calls the provider; the others wait to take over.
// A holding carries a fencing token that grows with every change of holder, and every
// mutating call is made only after Fence confirms it, so a controller paused past its lease
// (a stopped process, a long GC, a partitioned host) cannot act once another took over.
// The controller uses it; the AWS provider (a DynamoDB item) and the controller's MemLease
// implement it.
type Lease interface {
	// Hold takes the lease for holder when it is free or lapsed, or renews it when holder
	// has it, until ttl from now; it returns the holding's token, or ErrLeaseHeld.
	Hold(ctx context.Context, holder string, ttl time.Duration) (token int64, err error)
	// Fence returns nil when holder still holds the lease under token and it has not
	// lapsed; else ErrLeaseLost (or the error reading it).
	Fence(ctx context.Context, holder string, token int64) error
}

var (
	// ErrLeaseHeld is Hold's answer when another controller holds the lease.
	ErrLeaseHeld = errors.New("the lease is held by another controller")
	// ErrLeaseLost is Fence's answer when the holding is over.
	ErrLeaseLost = errors.New("the lease was lost: another controller may act")
)
