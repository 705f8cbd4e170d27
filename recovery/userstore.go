package recovery

import "context"

// UserStatus is a Cognito user status.
type UserStatus string

// The user statuses the engine distinguishes.
const (
	StatusConfirmed           UserStatus = "CONFIRMED"
	StatusResetRequired       UserStatus = "RESET_REQUIRED"
	StatusForceChangePassword UserStatus = "FORCE_CHANGE_PASSWORD"
	StatusUnconfirmed         UserStatus = "UNCONFIRMED"
	StatusExternalProvider    UserStatus = "EXTERNAL_PROVIDER"
)

// Attribute names the engine reads from User.Attributes (Cognito's names).
const (
	AttrEmail               = "email"
	AttrEmailVerified       = "email_verified"
	AttrPhoneNumber         = "phone_number"
	AttrPhoneNumberVerified = "phone_number_verified"
	AttrPreferredUsername   = "preferred_username"
	AttrLocale              = "locale"
)

// User is a user as the engine sees it: a plain value the store fills in.
// Its zero value (with a Sub) is an enabled, confirmed user: a store that
// fills in only what it has gets codes sent.
type User struct {
	// Sub is the user's stable, unique, never reused identifier (Cognito's
	// sub). The code store keys a user's recovery state by it. Required.
	Sub string
	// Username is the username as stored (its case preserved).
	Username string
	// Disabled is true for a disabled user, who cannot reset.
	Disabled bool
	// Status is the account status.
	Status UserStatus
	// Attributes holds Cognito-style attributes: email, email_verified
	// ("true" when verified), phone_number (E.164), phone_number_verified,
	// preferred_username, locale and any others, which hooks see.
	Attributes map[string]string
	// SMSMFA and EmailMFA say the user signs in with that MFA factor; the
	// same channel is then not used for recovery.
	SMSMFA, EmailMFA bool
}

// UserQuery is what the engine looks a user up by.
type UserQuery struct {
	// Identifier is the Username field exactly as the caller sent it.
	Identifier string
	// Key is Identifier normalized with FoldIdentifier: width-folded,
	// case-folded and NFC-normalized (PRECIS UsernameCaseMapped). Stores
	// match it against the same normalization of each candidate field.
	//
	// In SQL terms: for ASCII text FoldIdentifier is exactly lower(), so
	// "WHERE lower(email) = $1" with Key as $1, backed by an index on
	// (lower(email)), finds every ASCII address. For other text lower()
	// is close but not equal (full-width letters, "ß", compatibility
	// forms); a store that must match those stores the folded form in a
	// column of its own, computed with FoldIdentifier when the row is
	// written, and compares Key with it.
	Key string
}

// PasswordChange is a password reset to store.
type PasswordChange struct {
	// Sub identifies the user.
	Sub string
	// PasswordHash is the new password encoded by the configured
	// PasswordHasher (a PHC string for the default argon2id hasher).
	PasswordHash string
	// Status is the user's status afterwards: CONFIRMED for a user that was
	// RESET_REQUIRED, otherwise the status the user had.
	Status UserStatus
}

// UserStore finds users and sets their passwords. Wrap your existing users
// table with it: pgxstore.NewTableUserStore does that for a Postgres table
// from its column names; store/memstore and store/pgxstore's own tables
// implement it too; recoverytest.TestUserStore checks an implementation.
//
// Implementations must be safe for concurrent use. pool is the user pool ID
// from Config.PoolID; a store that serves one pool may ignore it.
type UserStore interface {
	// FindUser returns the one user of pool whose username, sub,
	// preferred_username, verified email (email_verified "true") or verified
	// phone_number equals q.Key after FoldIdentifier. A verified alias belongs
	// to at most one user; if the key is one user's username and another's
	// alias, the username wins. When nobody matches it returns an error wrapping
	// ErrUserNotFound; any other error is a system failure and surfaces as
	// InternalErrorException.
	//
	// Matching by sub is Cognito's rule but a store may leave it out, and
	// should when subs are guessable: with sequential ids as subs
	// (bigserial), the username "42" would start a reset for account 42.
	// Fill in only what the store knows; the zero value of every other User
	// field is the permissive one (enabled, confirmed, no MFA). An email or
	// phone number the store does not know to be verified is not used for
	// delivery: set AttrEmailVerified to "true" for addresses the host
	// verified (or always, if it verifies every address at sign-up).
	FindUser(ctx context.Context, pool string, q UserQuery) (User, error)

	// SetPassword stores change.PasswordHash and change.Status for the user
	// change.Sub. A user that no longer exists is ErrUserNotFound.
	//
	// The engine has already consumed the code when it calls SetPassword, so
	// a store need not void it. A store that shares a database with the
	// code store can do better by also implementing CodeConsumingSetter:
	// consuming the code and storing the password in one transaction, so a
	// failure between the two wastes no code. Without that ability,
	// implementing PasswordHashReader lets the engine tell a lost reply
	// from a lost write and make the code usable again in the second case.
	SetPassword(ctx context.Context, pool string, change PasswordChange) error
}

// UserCreator is an optional ability of a UserStore, needed by the user
// migration hook: the engine creates the migrated user through it.
type UserCreator interface {
	// CreateUser adds u and passwordHash ("" for none: the user must reset
	// it). When u.Sub is empty the store assigns a new unique one. If the username is
	// taken it returns an error wrapping ErrUsernameExists; if a verified
	// alias belongs to another user, ErrAliasExists. It returns the user as
	// stored.
	CreateUser(ctx context.Context, pool string, u User, passwordHash string) (User, error)
}

// PasswordHistory is an optional ability of a UserStore, needed when
// PasswordPolicy.HistorySize > 0.
type PasswordHistory interface {
	// RecentPasswordHashes returns up to n of the user's most recent password
	// hashes, newest first, the current one included. SetPassword must keep
	// this history.
	RecentPasswordHashes(ctx context.Context, pool, sub string, n int) ([]string, error)
}

// CodeConsumingSetter is an optional ability of a UserStore that shares a
// database with the CodeStore: it consumes a code and stores the new
// password in one transaction, so that a failure (a cut connection, a
// failed statement) leaves both as they were and the user can retry with
// the same code, while one code never sets two passwords. pgxstore's user
// stores have it when built with their code store.
type CodeConsumingSetter interface {
	// ConsumesCodesOf reports whether SetPasswordConsuming works on the
	// records of codes; the engine uses the ability only for its own
	// CodeStore.
	ConsumesCodesOf(codes CodeStore) bool
	// SetPasswordConsuming runs check as CodeStore.Check does (check has
	// Consume set) and, when it answers OutcomeOK, stores change as
	// SetPassword does, all in one transaction; on any other outcome
	// nothing is stored. An error means neither happened.
	SetPasswordConsuming(ctx context.Context, pool string, check CheckParams, change PasswordChange) (Outcome, error)
}

// PasswordHashReader is an optional ability of a UserStore: it reads the
// stored password hash of the user with this sub ("" when the user has
// none). When SetPassword fails after the code was consumed, the engine
// reads the hash back to tell a change that was applied (only its reply was
// lost) from one that was not, and makes the code usable again only in the
// second case, so that a failure wastes no code and one code never sets two
// passwords. Without it the engine assumes a failed SetPassword stored
// nothing. memstore and pgxstore have it.
type PasswordHashReader interface {
	StoredPasswordHash(ctx context.Context, pool, sub string) (string, error)
}

// MediaReporter is an optional ability of a UserStore or a Sender: the
// delivery media it can serve at all. A store over a table with email
// addresses and no phone numbers reports Email alone, as does a Sender
// that only sends mail. The engine then leaves out the mechanisms of
// AccountRecovery that no user can get a code by, and New refuses a
// configuration that leaves none. Without it, such a mechanism would only
// ever appear in simulated answers, where an SMS answer for an address, from
// a service with no phone numbers, would tell a missing account from a
// real one.
type MediaReporter interface {
	Media() []DeliveryMedium
}

// PasswordResetRequirer is an optional ability of a UserStore, needed by
// Engine.AdminResetUserPassword: it makes a user's password unusable until
// the user resets it with a code (ConfirmForgotPassword, whose SetPassword
// stores the new hash with status CONFIRMED). New accepts a store without
// it; AdminResetUserPassword then answers OperationNotEnabledException.
// memstore, pgxstore (both user stores) and redisstore have it.
type PasswordResetRequirer interface {
	// RequirePasswordReset sets the status of the user with exactly this
	// sub to RESET_REQUIRED, changing nothing else, so that FindUser
	// reports it. As in Cognito the stored hash is kept: the status is what
	// stops sign-in, and a sign-in flow must refuse a RESET_REQUIRED user
	// (Cognito answers PasswordResetRequiredException) before it compares
	// passwords. A store that keeps no status must instead clear the hash
	// (StoredPasswordHash then answers ""), so that the old password no
	// longer signs in. Calling it again is not an error. A user that does
	// not exist in pool is an error wrapping ErrUserNotFound; any other
	// error is a system failure.
	RequirePasswordReset(ctx context.Context, pool, sub string) error
}
