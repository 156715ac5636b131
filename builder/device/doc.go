// Package device holds what the builder and the responder both need to
// know about devices: firmware versions and how MAC addresses and serial
// numbers are compared. It imports nothing of the policy or the cabinet
// code, so the responder can use it.
package device
