package spotdata

// FargateRate is what Fargate charges per hour of a task's size, Linux/X86_64, us-east-1.
type FargateRate struct {
	PerVCPUHour, PerGBHour float64
}

// Fargate prices, us-east-1, Linux/X86_64, billed per second with a one-minute minimum.
// On-Demand: aws.amazon.com/fargate/pricing as vantage.sh/blog/fargate-pricing and
// tomgregory.com/aws/aws-fargate-spot-vs-fargate-price-comparison quote it. Fargate Spot:
// the per-vCPU rate the latter quotes (32.96% of On-Demand, inside AWS's "up to 70% off"),
// and the per-GB rate at the same ratio. AWS moves the Spot rates gradually with supply and
// demand; the shared data holds no Fargate prices, so this is the one place they come from.
var (
	FargateOnDemand = FargateRate{PerVCPUHour: 0.04048, PerGBHour: 0.004445}
	FargateSpot     = FargateRate{PerVCPUHour: 0.01334053, PerGBHour: 0.00146489}
)

// Hourly is the rate of one task of cpu units (1024 a vCPU) and memory MiB.
func (r FargateRate) Hourly(cpu, memoryMiB int) float64 {
	return float64(cpu)/1024*r.PerVCPUHour + float64(memoryMiB)/1024*r.PerGBHour
}
