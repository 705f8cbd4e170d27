package pgxstore_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
	"github.com/recoverykit/recoverykit/store/pgxstore"
)

// Each factory call migrates a fresh schema on the test's pool, which is
// what makes two stores from two calls see nothing of each other.

func TestCodeStoreConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestCodeStore(t, func(t *testing.T) recovery.CodeStore {
		return must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, newSchema(t, pool)))
	})
}

func TestUserStoreConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestUserStore(t, func(t *testing.T, seed []recoverytest.Seed) recovery.UserStore {
		return upserted(t, must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, newSchema(t, pool))), seed)
	})
}

func TestLimiterConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestRequestLimiter(t, func(t *testing.T) recovery.RequestLimiter {
		return must[*pgxstore.Limiter](t)(pgxstore.NewLimiter(pool, newSchema(t, pool)))
	})
}

func TestCodeIssuingFinderConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestCodeIssuingFinder(t, func(t *testing.T, seed []recoverytest.Seed) (recovery.UserStore, recovery.CodeStore) {
		opts := newSchema(t, pool)
		codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
		return upserted(t, must[*pgxstore.UserStore](t)(pgxstore.NewUserStore(pool, opts)), seed).WithCodeStore(codes), codes
	})
}

// TestTableCodeIssuingFinderConformance runs the suite on TableUserStores
// over tables with every column they can read (no MFA flags, only the
// attributes with columns): one table per pool, as a TableUserStore serves
// one pool, behind a store that picks the table by pool.
func TestTableCodeIssuingFinderConformance(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 8)
	recoverytest.TestCodeIssuingFinder(t, func(t *testing.T, seed []recoverytest.Seed) (recovery.UserStore, recovery.CodeStore) {
		opts := newSchema(t, pool)
		codes := must[*pgxstore.CodeStore](t)(pgxstore.NewCodeStore(pool, opts))
		tables, names := tablePerPool{}, map[string]string{}
		for _, s := range seed {
			if tables[s.Pool] == nil {
				names[s.Pool] = pgx.Identifier{opts.Schema, "members_" + strconv.Itoa(len(tables))}.Sanitize()
				tables[s.Pool] = membersTable(t, pool, opts.Schema, "members_"+strconv.Itoa(len(tables))).WithCodeStore(codes)
			}
			insertMember(t, pool, names[s.Pool], s.User, s.PasswordHash)
		}
		return tables, codes
	})
}

// upserted is s holding the seed users.
func upserted(t *testing.T, s *pgxstore.UserStore, seed []recoverytest.Seed) *pgxstore.UserStore {
	for _, u := range seed {
		if _, err := s.UpsertUser(t.Context(), u.Pool, u.User, u.PasswordHash); err != nil {
			t.Fatalf("seeding %q: %v", u.User.Username, err)
		}
	}
	return s
}

// insertMember adds u to a membersTable (quoted name table): absent
// attributes and flags are NULL.
func insertMember(t *testing.T, pool *pgxpool.Pool, table string, u recovery.User, passwordHash string) {
	t.Helper()
	flag := func(name string) *bool {
		v, ok := u.Attributes[name]
		b := v == "true"
		return map[bool]*bool{true: &b}[ok]
	}
	text := func(name string) *string {
		v, ok := u.Attributes[name]
		return map[bool]*string{true: &v}[ok]
	}
	if _, err := pool.Exec(t.Context(), `INSERT INTO `+table+` VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.Sub, u.Username, text(recovery.AttrEmail), flag(recovery.AttrEmailVerified), text(recovery.AttrPhoneNumber),
		flag(recovery.AttrPhoneNumberVerified), string(u.Status), u.Disabled, passwordHash, text(recovery.AttrLocale)); err != nil {
		t.Fatal(err)
	}
}

// membersTable makes a table with every column a TableUserStore reads and
// a store over it.
func membersTable(t *testing.T, pool *pgxpool.Pool, schema, name string) *pgxstore.TableUserStore {
	if _, err := pool.Exec(t.Context(), `CREATE TABLE `+pgx.Identifier{schema, name}.Sanitize()+` (id uuid PRIMARY KEY, username text,
		email text, email_verified boolean, phone text, phone_verified boolean, status text, disabled boolean, password_hash text, locale text)`); err != nil {
		t.Fatal(err)
	}
	return must[*pgxstore.TableUserStore](t)(pgxstore.NewTableUserStore(t.Context(), pool, pgxstore.Table{
		Name: schema + "." + name, Sub: "id", Username: "username", Email: "email", EmailVerified: "email_verified",
		Phone: "phone", PhoneVerified: "phone_verified", Status: "status", Disabled: "disabled",
		PasswordHash: "password_hash", Locale: "locale", FindBySub: true,
	}))
}

// tablePerPool is a user store with a TableUserStore per pool; a pool
// without one has no users.
type tablePerPool map[string]*pgxstore.TableUserStore

func (m tablePerPool) FindUser(ctx context.Context, pool string, q recovery.UserQuery) (recovery.User, error) {
	if s := m[pool]; s != nil {
		return s.FindUser(ctx, pool, q)
	}
	return recovery.User{}, recovery.ErrUserNotFound
}

func (m tablePerPool) SetPassword(ctx context.Context, pool string, c recovery.PasswordChange) error {
	if s := m[pool]; s != nil {
		return s.SetPassword(ctx, pool, c)
	}
	return recovery.ErrUserNotFound
}

func (m tablePerPool) IssuesCodesOf(codes recovery.CodeStore) bool {
	for _, s := range m {
		if !s.IssuesCodesOf(codes) {
			return false
		}
	}
	return len(m) > 0
}

func (m tablePerPool) FindUserIssuing(ctx context.Context, pool string, q recovery.UserQuery, p recovery.FindIssueParams) (recovery.FoundIssue, error) {
	if s := m[pool]; s != nil {
		return s.FindUserIssuing(ctx, pool, q, p)
	}
	return recovery.FoundIssue{}, errors.New("no table for this pool")
}
