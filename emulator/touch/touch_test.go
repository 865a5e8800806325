package touch

import "testing"

type obj struct {
	v int
	m Mark[int]
}

func (o *obj) Entry() int       { return o.v }
func (o *obj) Mark() *Mark[int] { return &o.m }

// TestDelta: a touched object whose entry changed is given once; one touched but unchanged
// is not; one that went is given by what was shown of it, and only if it was shown;
// touches before anyone asked are not followed.
func TestDelta(t *testing.T) {
	var s Set[int, *obj]
	a, b, c := &obj{v: 1}, &obj{v: 2}, &obj{v: 3}
	s.Touch(a, false)
	if ch, _ := s.Delta(); len(ch) != 0 {
		t.Fatalf("a touch before anyone asked was followed: %v", ch)
	}
	a.m.Show(a.Entry())
	b.m.Show(b.Entry())
	a.v = 10
	s.Touch(a, true)
	s.Touch(a, true)
	s.Touch(b, true) // unchanged
	s.Touch(c, true) // new
	s.Gone(b)
	ch, gone := s.Delta()
	if len(ch) != 2 || ch[0] != 10 || ch[1] != 3 || len(gone) != 1 || gone[0] != 2 {
		t.Fatalf("changed %v, gone %v; want [10 3] and [2]", ch, gone)
	}
	s.Gone(&obj{v: 4}) // never shown
	if ch, gone := s.Delta(); len(ch) != 0 || len(gone) != 0 {
		t.Errorf("an object never shown went: %v %v", ch, gone)
	}
}
