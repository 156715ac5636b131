package ldaptest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes slapd die with the test binary, should the test
// binary be killed before its cleanup runs.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
