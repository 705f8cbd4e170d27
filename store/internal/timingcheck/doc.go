// Package timingcheck is the enumeration timing check of this module's
// stores: for a client that hides user existence, Recover must take as
// long for a known user as for an identifier that matches nobody, or its
// latency alone would tell them apart. Check measures both on fresh stores
// with a slow mail server (SlowSender), a slow custom-message hook
// (SlowCustomMessage) and a failing mail server (FailingSender), and runs
// a control that delivers on the request path, which must show the leak.
// Measure takes the samples, interleaved, and Report.Leak judges them by
// medians and 90th percentiles; the Kolmogorov-Smirnov statistic (KS,
// KSCritical) is reported, not judged.
//
// It is internal to store/ because only the adapters' own tests run it;
// recovery/recoverytest keeps what a store outside this module needs. A
// short run is part of every go test; the long one is gated by
// recoverytest.OptIn(t, recoverytest.EnvTiming, ...).
package timingcheck
