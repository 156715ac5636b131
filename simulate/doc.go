// Package simulate runs a fleet of simulated Lync Phone Edition phones
// against a running responder: every check and every download is a real
// HTTP(S) request, but time is simulated, so a day of ten thousand phones
// passes in seconds.
//
// A phone does what docs/PROTOCOL.md and the design say a real one does:
//
//   - discovery: a phone on which a user signed in uses the internal and
//     external URLs in-band provisioning gave it; a phone on which nobody
//     signed in looks up ucupdates-r2.<domain> in the DNS and fails, with
//     the name in the error, when it does not resolve;
//   - it checks at power-on, at sign-in (a minute after power-on, with the
//     cached credentials) and every 24 hours;
//   - it downloads every file of every offered update, from the internal
//     URL inside and from the external URL with the user's Basic
//     credentials outside, and checks each file's size and SHA-256; a
//     failed or corrupt download is retried an hour later and never
//     installed;
//   - after a complete download it waits five idle minutes, reboots into
//     the new version (keeping the previous one as the backup), and
//     checks again at power-on;
//   - its System Information screen shows the current version and the date
//     of the last update ([Phone.Version], [Phone.LastUpdate]).
//
// Phones are independent of one another, so the simulator runs the events
// of many phones at once, in simulated-time order within a lookahead of
// one simulated minute (no follow-up event comes sooner), with at most
// [Config.Concurrency] requests in flight. A run ends when every phone has
// checked and has nothing left to do but its next daily check, or when
// [Config.Duration] of simulated time has passed.
//
// A [Fleet] is made up from a built tree by [Generate] (identities,
// versions and test devices read through package site) or read from a
// file; its state after a run can be saved and continued, so a run after a
// policy change measures how long the fleet takes to converge on it.
//
// The simulator is a client only: it reads the tree to make up phones and
// to say which version each should end on, never to answer for the
// responder.
package simulate
