package recovery_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
)

// pwnedScreen is a PasswordScreen over a k-anonymity range API shaped like
// Have I Been Pwned's (GET {base}/range/{first 5 hex digits of the SHA-1},
// answering "SUFFIX:COUNT" lines): the password and its full hash never
// leave the process.
type pwnedScreen struct {
	client *http.Client // with a timeout: the screen runs on the request path
	base   string       // https://api.pwnedpasswords.com in production
}

func (s pwnedScreen) Screen(ctx context.Context, password string) (bool, error) {
	sum := sha1.Sum([]byte(password))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/range/"+h[:5], nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Add-Padding", "true") // hides the answer's size
	resp, err := s.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("range API: %s", resp.Status)
	}
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		suffix, count, _ := strings.Cut(sc.Text(), ":")
		if suffix == h[5:] && count != "0" { // padding lines count 0
			return true, nil
		}
	}
	return false, nil
}

// fakeRangeAPI answers like the range API for a set of breached passwords.
func fakeRangeAPI(breached ...string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := strings.TrimPrefix(r.URL.Path, "/range/")
		fmt.Fprintln(w, "0018A45C4D1DEF81644B54AB7F969B88D65:0") // padding
		for _, pw := range breached {
			sum := sha1.Sum([]byte(pw))
			if h := strings.ToUpper(hex.EncodeToString(sum[:])); h[:5] == prefix {
				fmt.Fprintf(w, "%s:42\n", h[5:])
			}
		}
	}))
}

// A PasswordScreen adds an online breach service to the built-in list of
// common passwords; when the service cannot answer, the password is neither
// accepted nor refused, and Confirm consumes nothing.
func ExamplePasswordScreen() {
	api := fakeRangeAPI("Orbit-Kettle-77")
	defer api.Close()
	policy := recovery.PasswordPolicy{
		Screen: pwnedScreen{client: &http.Client{Timeout: 2 * time.Second}, base: api.URL},
	}
	ctx := context.Background()

	fmt.Println(policy.CheckContext(ctx, "Welcome1!"))       // the built-in list
	fmt.Println(policy.CheckContext(ctx, "Orbit-Kettle-77")) // the service
	fmt.Println(policy.CheckContext(ctx, "Zq8!vLm2#Tr"))
	api.Close()
	fmt.Println(policy.CheckContext(ctx, "Zq8!vLm2#Tr"))
	// Output:
	// InvalidPasswordException: Password does not conform to policy: Password is too common or has appeared in a data breach
	// InvalidPasswordException: Password does not conform to policy: Password is too common or has appeared in a data breach
	// <nil>
	// InternalErrorException: Internal error.
}
