package emulator

// coverServices are the fallback's companion services (manifest.CoverServices), each
// registered to the target group of the service it covers.
func (e *Emulator) coverServices() []*service {
	var out []*service
	for _, cfg := range e.m.CoverServices() {
		c := newService(e, cfg)
		for _, s := range e.services {
			if s.cfg.Name == e.m.Covers(cfg.Name) {
				c.tg, c.covers = s.tg, s
			}
		}
		out = append(out, c)
	}
	return out
}
