// Package recovery is an embeddable account-recovery engine: Amazon
// Cognito's ForgotPassword and ConfirmForgotPassword, with their request
// fields, validation messages, errors, user states, channel choice and
// triggers, for Go services that keep their own users.
//
// # Embedding
//
// Five names are all an embedder needs:
//
//   - New builds an Engine from a Config: your UserStore (or
//     store/pgxstore's, or store/memstore's in tests), a CodeStore
//     (store/memstore, store/pgxstore, store/redisstore), a Sender
//     (delivery/smtpsender, delivery/webhooksender), your app Clients and
//     a hashing Key. Every other field has a safe default.
//   - Engine.Recover sends a code and answers where it went, masked.
//   - Engine.Confirm checks the code and sets the new password.
//   - Their errors are *Error values whose Name is the Cognito exception
//     name; test them with errors.Is against the Err sentinels.
//   - Engine.Close drains the deliveries still on their way at shutdown.
//
// Store authors implement the contracts UserStore, CodeStore and
// RequestLimiter, and check their implementation with the conformance
// suites of recovery/recoverytest. Hooks (CustomMessageHook,
// UserMigrationHook, RiskCheckHook, PostConfirmHook, Observer) are Cognito's
// Lambda triggers as Go interfaces; an Outbox carries deliveries off the
// request path.
//
// # Hiding whether an account exists
//
// A Client hides user existence unless it sets RevealUserExistence (Cognito's
// PreventUserExistenceErrors, on by default here). For such a client no
// single answer tells an identifier that belongs to an account from one that
// does not, whatever its shape (username, email address, phone number,
// preferred_username, sub), case or width, and whatever AccountRecovery is:
//
//   - Everything decided before the user lookup is the same for every
//     identifier: the client, the secret hash, the request limits, the pool's
//     switches and the RiskCheck hook.
//   - An identifier that matches nobody, a disabled user and a user without a
//     usable channel are charged the same single CodeStore.Issue as a real
//     request, under a keyed pseudonym for a missing identifier, so budgets
//     run out at the same point; their answer is simulated.
//   - Destinations are masked from the normalized value (FoldIdentifier), so
//     a***@e*** never shows the case or width an address was stored or asked
//     in.
//   - A simulated answer is a pure function of the pseudonym key and the
//     normalized identifier (the same on every call and instance) and follows
//     the rule a real user found by that identifier follows. An identifier
//     that names a medium (an email address or a phone number) gets that
//     medium, the identifier itself masked, when AccountRecovery puts that
//     medium first, since a real user found by that verified alias gets it
//     there; when the medium is the pool's second mechanism, it gets either
//     that or the first mechanism with an invented destination, as a real
//     user may or may not have the first; when the pool does not use the
//     medium, the pool's only mechanism with an invented destination. Any
//     other identifier gets the first or the second mechanism with an
//     invented destination. Invented destinations have a real one's pattern:
//     a lower-case letter, "***@", a lower-case letter, "***"; or "+", stars
//     and four digits, as many digits in all as Simulation.PhoneDigits says
//     (11 by default). Where either mechanism is possible, the choice is
//     weighted by Simulation.ChannelWeights (even by default).
//   - Nothing per real user runs on the request path: the custom-message
//     hook, rendering and sending happen in the Outbox's workers, and the
//     request path puts a Delivery for a real user and a decoy for a
//     simulated answer into the Outbox alike. A delivery that fails, or an
//     Outbox that is full, is reported to the Observer and the log, never to
//     the caller.
//   - Confirm for an identifier that matches nobody, or a user who cannot
//     reset, makes the same CodeStore.Check with hashes that cannot match,
//     so it answers CodeMismatchException, or ExpiredCodeException when no
//     code was ever asked for, after the same store work.
//
// What remains with the defaults is statistical, never a single answer:
// where either medium is possible, the share of each among simulated
// answers is ChannelWeights', not your users'; invented first letters are
// spread evenly over a-z, real ones are not; invented numbers have the
// lengths of PhoneDigits, real ones the lengths your users have. Set
// ChannelWeights and PhoneDigits to your population's, or set
// Simulation.ChannelFromIdentifier, which sends the code to the channel an
// email address or phone number names (for real users too, whenever that
// attribute is verified), so such an identifier's answer is always that
// channel. Edge cases keep a residual signal too: a user whose MFA factor
// is the channel the identifier names (the code goes to the other channel),
// and a username that looks like an email address or phone number but is
// not the user's verified one. A UserMigrationHook runs only for
// identifiers the store does not know, as in Cognito, so its latency shows.
//
// A client with RevealUserExistence answers UserNotFoundException,
// NotAuthorizedException or InvalidParameterException instead, and
// delivers during the request, so that a delivery failure is its
// CodeDeliveryFailureException, as in Cognito.
//
// # Budgets and guessing
//
// Each user has two rolling budgets in the CodeStore, checked and charged in
// the same atomic step as the code: Policy.Budget codes requested and
// Policy.FailureBudget wrong codes per Policy.BudgetWindow (5 and 5 per
// hour by default). A request is refused (LimitExceededException) when
// either is spent: a code is only sent while it can still be checked. A
// confirmation is refused, without its code being compared, when the
// failures are spent. A right code is never charged. So every code the
// engine sends can be confirmed within its lifetime unless wrong guesses
// (FailureBudget of them, or Policy.MaxFailures in a row, which lock the
// account for Policy.Cooldown) or a newer code stand in the way; and at
// most FailureBudget codes are compared and found wrong per window, however
// many codes are requested. With the defaults an attacker's chance to guess
// a valid code for one account within a day is at most 5 × 24 / 10⁶ =
// 1.2 × 10⁻⁴ (Policy.GuessProbability); New refuses a policy above
// Policy.MaxGuessProbability.
//
// # Confirm order
//
// Everything that can refuse the new password runs before the code is used
// up: the PasswordPolicy (MaxLength included, 256 by default), the hasher's
// own limit (PasswordLengthLimiter: bcrypt's 72 bytes) and, once the code
// is known to match, the password history. The argon2id cost is paid only
// after the code matched. When the UserStore consumes the code in the
// transaction that sets the password (CodeConsumingSetter: pgxstore's user
// store with its code store), a failure leaves both as they were. Otherwise
// the code is consumed first, and a failure to hash or store the password
// makes it usable again (CodeStore.Restore), unless the stored hash, read
// back (PasswordHashReader), shows the change was applied and only its
// reply was lost: then the reset succeeded. One code never sets two
// passwords.
//
// # One round trip
//
// A UserStore in the CodeStore's database can find the user and issue the
// code in one statement (CodeIssuingFinder: pgxstore's user stores with
// their code store). The store then judges, in that statement, whether
// the user may be sent a code, by the rule FindIssueParams states; the
// engine judges again from the user returned and answers an internal
// error, revoking the code, if the two differ. Such a code's hash is bound
// to the pool by the engine and to the user by the store (BoundCode), so a
// hash copied into another user's record does not match there either.
package recovery
