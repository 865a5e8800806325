package baseline

import "testing"

// TestPack: 4 tasks of 512 CPU units and 1 GiB fit one m5.large (2 vCPU, 7.5 GiB
// registered); larger tasks go first; a task larger than the instance fits none.
func TestPack(t *testing.T) {
	if n := Pack([]TaskShape{{CPU: 512, Mem: 1024, N: 4}}, 2048, 7700); n != 1 {
		t.Errorf("4 × (512, 1024) on (2048, 7700): %d instances, want 1", n)
	}
	if n := Pack([]TaskShape{{CPU: 1024, Mem: 1024, N: 3}, {CPU: 512, Mem: 4096, N: 3}}, 2048, 7700); n != 3 {
		// The 4 GiB tasks go first, one an instance (two do not fit 7.5 GiB); a 1 GiB task
		// joins each.
		t.Errorf("mixed tasks: %d instances, want 3", n)
	}
	if n := Pack([]TaskShape{{CPU: 4096, Mem: 1024, N: 1}}, 2048, 7700); n != 0 {
		t.Errorf("a task larger than the instance: %d, want 0 (does not fit)", n)
	}
}
