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
		var status exitStatus
		if errors.As(err, &status) {
			os.Exit(status.code)
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

// exitStatus ends the process with a status of its own and no message: the agent's is the
// command's it ran, plan --detailed-exitcode's 2 says there are changes.
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }
