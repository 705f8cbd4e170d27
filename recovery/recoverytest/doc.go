// Package recoverytest checks that an implementation of the recovery store
// contracts (recovery.CodeStore, recovery.UserStore and
// recovery.RequestLimiter) behaves as their documentation requires. It is
// meant for the test files of store adapters, in the style of
// testing/fstest.TestFS: hand it a factory and it runs one named subtest per
// rule, each on a fresh instance, testing the optional abilities
// (recovery.ExpiredSweeper, recovery.UserCreator, recovery.PasswordHistory)
// only when the implementation has them, and reporting every deviation it
// finds rather than stopping at the first. From an adapter's test file:
//
//	func TestCodeStore(t *testing.T) {
//		recoverytest.TestCodeStore(t, func(t *testing.T) recovery.CodeStore {
//			s, err := redisstore.NewCodeStore(testClient(t), redisstore.Options{Prefix: "test:" + rand.Text() + ":"})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// TestUserStore and TestRequestLimiter are used the same way; the factory of
// TestUserStore also receives the users to seed the store with, as does
// that of TestCodeIssuingFinder, which checks a user store that finds and
// issues in one step (recovery.CodeIssuingFinder) together with its code
// store. Each factory
// call must return an instance isolated from the others, here through a
// fresh key prefix on one server.
//
// Every time the suite uses is injected (the Now fields): it never sleeps
// and never reads the wall clock. Its instants are fixed (2 January 2026)
// and unrelated to the real time at which the suite runs, so a store that
// maps its deadlines onto a server's clock (Redis PEXPIRE, say) must turn
// them into durations relative to the injected Now, never absolute expiry
// times.
//
// Beside the store suites, TestAnswersHideExistence checks that an engine
// on the stores, called in process or through a transport, answers
// ForgotPassword so that a single answer cannot tell an identifier that
// names an account from one that does not.
// InsecureHasher is a fast password hasher for tests. RequireEnv and OptIn
// are the rules that turn integration tests and the slow suites (EnvFaults,
// EnvTiming) on by environment variable; this module's own fault load and
// enumeration timing suites live in store/internal, not here.
//
// What a black-box suite cannot prove: the concurrency subtests start their
// goroutines behind a barrier so that calls overlap, but passing them shows
// only that no lost update happened in this run. Run the suite with -race,
// and more than once (-count) for a networked store. Likewise it cannot see
// whether hashes are compared in constant time, or whether expired records
// are really reclaimed by a store without recovery.ExpiredSweeper; those
// need tests that know the implementation.
package recoverytest
