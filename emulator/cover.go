package emulator

import "github.com/spotfleet/spotfleet/manifest"

// coverServices are the fallback's companion services (workload ecs): for each service
// that runs tasks on fallback.from, a service of the same task definition on fallback.to,
// registered to the same target group, at desired 0 until the controller covers a
// shortfall with it. An ECS capacity provider strategy is a hard constraint (a task of the
// Spot provider waits in PROVISIONING and is never placed elsewhere), so the cover needs a
// service of its own; the original's healthy tasks are never redeployed. `spotfleet apply`
// creates the same service on AWS.
func (e *Emulator) coverServices() []*service {
	f := e.m.Fallback
	if f == nil || e.m.Workload != manifest.WorkloadECS {
		return nil
	}
	var out []*service
	for _, s := range e.services {
		if !s.cfg.Uses(f.From) {
			continue
		}
		cfg := s.cfg
		cfg.Name = manifest.CoverServiceName(s.cfg.Name)
		cfg.DesiredCount = 0
		cfg.Autoscaling = nil
		cfg.CapacityProviderStrategy = []manifest.CapacityProviderStrategy{{CapacityProvider: f.To, Weight: 1}}
		c := newService(e, cfg)
		c.tg, c.covers = s.tg, s
		out = append(out, c)
	}
	return out
}
