package strictyaml

import (
	"fmt"
	"io"
	"os"
)

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
