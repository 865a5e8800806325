package manifest

// DefaultMaxProcesses is `spotfleet up`'s budget of processes at once: the scale it was
// measured at (BENCHMARKS.md: 1,000 tasks of the example service, about 10 MB each).
const DefaultMaxProcesses = 1000

// LocalPeak is the most `spotfleet up` may run at once for the manifest: processes (a task
// each under ecs, a service per instance under instances) and emulated instances (a
// metadata service each). A service counts at its largest size (its autoscaling's maxCount)
// with the room its deployments take (maximumPercent); a group at its maxSize.
func (m *Manifest) LocalPeak() (processes, instances int) {
	for _, g := range m.Capacity {
		instances += g.MaxSize
	}
	if m.Workload == WorkloadInstances {
		return instances, instances
	}
	for _, s := range m.Services {
		n := s.DesiredCount
		if a := s.Autoscaling; a != nil {
			n = max(n, a.MaxCount)
		}
		processes += (n*max(s.MaximumPercent, 100) + 99) / 100
	}
	return processes, instances
}

// LocalFiles is what LocalPeak needs of file descriptors under up: per process its log,
// the pipe its output comes through and a handle to wait on it; per instance its metadata
// service's socket; and a margin for the load balancer's and the API's connections.
func LocalFiles(processes, instances int) int { return 3*processes + instances + 512 }
