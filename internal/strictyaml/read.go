package strictyaml

import (
	"fmt"
	"io"
	"os"
)

// MaxFileSize bounds a file Decode takes. The examples are 1-3 KiB and a manifest of 500
// services 31 KiB; the YAML library holds up to about 380 bytes a byte of input at once on
// the worst inputs found (a token per byte), and the binary itself is 49 MB resident: at 128
// KiB `spotfleet validate` peaked at 98 MB, at this size at about 75 (BENCHMARKS.md).
const MaxFileSize = 64 << 10

// ReadFile reads at most limit bytes of a file: a device such as /dev/zero, or a file far
// larger than a manifest, is refused without being read into memory.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d KiB, more than such a file can be: is it the right file?", path, limit>>10)
	}
	return data, nil
}
