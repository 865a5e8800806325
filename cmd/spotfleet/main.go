// Command spotfleet runs container services on EC2 Spot with no dropped request, on AWS or
// on a local emulator. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		var child childExit
		if errors.As(err, &child) {
			os.Exit(child.code)
		}
		var exit exitError
		if !errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, "spotfleet:", err)
		}
		os.Exit(1)
	}
}

// exitError ends the process with status 1 after the command already printed why.
type exitError struct{ reason string }

func (e exitError) Error() string { return e.reason }
