package spotfleet

import "strings"

// capacityCodes are the EC2 error codes (and message phrases) of a launch that failed for
// want of capacity or of an account limit: retrying the same request soon will fail again,
// so another market (On-Demand) must cover. Codes from the EC2 API error reference and the
// Auto Scaling activity status messages; a configuration error (an invalid AMI, a missing
// instance profile) is not here: On-Demand would fail the same way.
var capacityCodes = []string{
	"InsufficientInstanceCapacity",
	"InsufficientCapacity",
	"UnfulfillableCapacity",
	"There is no Spot capacity available",
	"MaxSpotInstanceCountExceeded",
	"SpotMaxPriceTooLow",
	"InstanceLimitExceeded",
	"VcpuLimitExceeded",
	"InsufficientFreeAddressesInSubnet",
	"Capacity is unavailable at this time", // ECS: Fargate (Spot) could not place a task
}

// CapacityError says whether a launch failure's status message is a capacity or limit
// error, which spotfleet covers at once (any other failure is covered only once the
// shortfall outlasts fallback.after).
func CapacityError(message string) bool {
	for _, c := range capacityCodes {
		if strings.Contains(message, c) {
			return true
		}
	}
	return false
}
