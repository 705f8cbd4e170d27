// Package faultload is the fault suite of this module's stores: Run puts a
// bounded, mixed load of Recover and Confirm calls through a real
// recovery.Engine on the stores under test while the test cuts their
// backend off and restores it (Config.Cut and Config.Restore; Repeatedly
// builds the pair from one repeated action, such as killing connections).
// Then it checks, from what the clients saw and what the stores hold, that
// no code was accepted twice, after its expiry, past the budget or during a
// lock, that no password change was lost, that every error was
// InternalErrorException, and that the stores work again untouched once the
// outages are over.
//
// It is internal to store/ because only the adapters' own tests run it:
// the public conformance suites (recovery/recoverytest) stay free of the
// delivery and store packages it needs. The tests that run it opt in with
// recoverytest.OptIn(t, recoverytest.EnvFaults, ...), as CI does.
package faultload
