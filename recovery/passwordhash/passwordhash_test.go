package passwordhash_test

import (
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/passwordhash"
	"github.com/recoverykit/recoverykit/recovery/recoverytest"
)

// argon2 with cheap parameters, so the suite runs fast.
var cheapArgon = recovery.Argon2id{Memory: 1024, Iterations: 1}

func TestBcrypt(t *testing.T) {
	recoverytest.TestPasswordHasher(t, passwordhash.Bcrypt{Cost: 4}, false)
}

func TestMulti(t *testing.T) {
	recoverytest.TestPasswordHasher(t, passwordhash.Multi{cheapArgon, passwordhash.Bcrypt{Cost: 4}}, false)
}

func TestArgon2id(t *testing.T) {
	recoverytest.TestPasswordHasher(t, cheapArgon, false)
}

func TestInsecureHasher(t *testing.T) {
	recoverytest.TestPasswordHasher(t, recoverytest.InsecureHasher{}, true)
}

// A service that stored bcrypt hashes moves to argon2id: old hashes keep
// verifying, new ones are argon2id.
func TestMultiMovesFromBcryptToArgon2id(t *testing.T) {
	old, _ := passwordhash.Bcrypt{Cost: 4}.Hash("Old-passw0rd!")
	m := passwordhash.Multi{cheapArgon, passwordhash.Bcrypt{}}
	if ok, err := m.Verify("Old-passw0rd!", old); !ok || err != nil {
		t.Fatalf("the old bcrypt hash: %v, %v", ok, err)
	}
	if ok, _ := m.Verify("wrong", old); ok {
		t.Fatal("a wrong password verifies against the bcrypt hash")
	}
	h, err := m.Hash("N3w-passw0rd!")
	if err != nil || !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("new hash %q, %v: want argon2id", h, err)
	}
	if _, err := m.Verify("x", "md5$abc"); err == nil {
		t.Fatal("a hash no hasher recognizes must be an error")
	}
	if m.MaxPasswordBytes() != 0 {
		t.Fatal("Multi's limit is its first hasher's: argon2id has none")
	}
	if (passwordhash.Multi{passwordhash.Bcrypt{}}).MaxPasswordBytes() != 72 {
		t.Fatal("Multi with bcrypt first must declare bcrypt's 72 bytes")
	}
}
