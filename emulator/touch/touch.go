// Package touch follows, for the objects of one kind, what the last snapshot or delta
// showed of each and which changed since, so that a delta costs what changed rather than
// the fleet's size. Every change a snapshot can show touches its object; an object that
// goes is remembered by what was shown of it.
package touch

// Mark is what an object carries: what was last shown of it, and whether it was shown,
// changed since, or went.
type Mark[E comparable] struct {
	Last                 E
	shown, touched, gone bool
}

// Show records e as shown of the object (a full snapshot).
func (m *Mark[E]) Show(e E) { m.shown, m.Last = true, e }

// Object is one object of a kind: its entry now, and its mark.
type Object[E comparable] interface {
	Entry() E
	Mark() *Mark[E]
}

// Set is the objects of one kind touched since the last delta, and what was shown of
// those that went since.
type Set[E comparable, O Object[E]] struct {
	touched []O
	gone    []E
}

// Touch notes a change of what a snapshot shows of o; follow is false until someone has
// asked for a snapshot (nothing to follow yet).
func (s *Set[E, O]) Touch(o O, follow bool) {
	if m := o.Mark(); follow && !m.touched {
		m.touched = true
		s.touched = append(s.touched, o)
	}
}

// Gone notes that o left the fleet.
func (s *Set[E, O]) Gone(o O) {
	m := o.Mark()
	m.gone = true
	if m.shown {
		s.gone = append(s.gone, m.Last)
	}
}

// Delta is the entries of the touched objects that differ from what was shown of them
// (now shown), and what was shown of those that went; the set starts again.
func (s *Set[E, O]) Delta() (changed, gone []E) {
	for _, o := range s.touched {
		m := o.Mark()
		if x := o.Entry(); !m.gone && (!m.shown || x != m.Last) {
			m.Show(x)
			changed = append(changed, x)
		}
	}
	gone = append(gone, s.gone...)
	s.Reset()
	return changed, gone
}

// Reset forgets what was touched and what went: every object is as shown (after a full
// snapshot, or a delta).
func (s *Set[E, O]) Reset() {
	for _, o := range s.touched {
		o.Mark().touched = false
	}
	clear(s.touched)
	s.touched, s.gone = s.touched[:0], s.gone[:0]
}
