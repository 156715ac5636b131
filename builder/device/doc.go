// Package device holds the vocabulary the builder and the responder share
// about devices: the identity of a kind of device
// (DeviceType/Brand/Model/Revision/Locale, its parsing, checking and
// case-folded key), the rule GUIDs packages carry, firmware versions, the
// global test scope, and how MAC addresses and serial numbers are
// compared. It is defined here once; it imports nothing of the policy or
// the cabinet code, so the responder can use it.
package device
