package recoverytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/recoverykit/recoverykit/recovery"
)

// ExistenceStores makes fresh stores for TestAnswersHideExistence: a user
// store that can create users (recovery.UserCreator) and a code store,
// isolated from every other pair it made.
type ExistenceStores func(t *testing.T) (recovery.UserStore, recovery.CodeStore)

// Answer is what a caller sees of one ForgotPassword call: the details or
// the error's name, and, through a transport, Shape: whatever else of the
// response must not differ between two answers (status, header names,
// body members).
type Answer struct {
	Details recovery.CodeDeliveryDetails
	Error   string
	Shape   string
}

// Transport makes ForgotPassword calls to an engine as a client makes them
// (over HTTP, say). nil means the engine's Recover, in process.
type Transport func(t *testing.T, e *recovery.Engine) func(ctx context.Context, req recovery.RecoverRequest) Answer

// inProcess is the nil Transport.
func inProcess(_ *testing.T, e *recovery.Engine) func(context.Context, recovery.RecoverRequest) Answer {
	return func(ctx context.Context, req recovery.RecoverRequest) Answer {
		d, err := e.Recover(ctx, req)
		var re *recovery.Error
		switch {
		case errors.As(err, &re):
			return Answer{Error: string(re.Name)}
		case err != nil:
			return Answer{Error: err.Error()}
		}
		return Answer{Details: d}
	}
}

// existenceUser is a user of the check and the identifiers that find it.
type existenceUser struct {
	recovery.User
	sub string
}

// existenceUsers are the users every engine of the check holds: with both
// channels, with one of them, with an address stored in mixed case, and
// two who cannot get a code (disabled, nothing verified).
func existenceUsers() []recovery.User {
	u := func(name string, enabled bool, attrs ...string) recovery.User {
		m := map[string]string{}
		for i := 0; i+1 < len(attrs); i += 2 {
			m[attrs[i]] = attrs[i+1]
		}
		return recovery.User{Username: name, Disabled: !enabled, Status: recovery.StatusConfirmed, Attributes: m}
	}
	return []recovery.User{
		u("bob", true, "email", "bob@example.com", "email_verified", "true", "phone_number", "+15555550101", "phone_number_verified", "true", "preferred_username", "bobby"),
		u("erin", true, "email", "erin@example.com", "email_verified", "true", "preferred_username", "erin-p"),
		u("pat", true, "phone_number", "+15555550102", "phone_number_verified", "true", "preferred_username", "pat-p"),
		u("Mallory", true, "email", "Mallory@Example.COM", "email_verified", "true", "phone_number", "+15555550103", "phone_number_verified", "true"),
		u("dave", false, "email", "dave@example.com", "email_verified", "true", "phone_number", "+15555550104", "phone_number_verified", "true"),
		u("uma", true, "email", "uma@example.com", "phone_number", "+15555550105"),
	}
}

// identifiers are the ways to name u: username, sub, preferred_username,
// and its verified email and phone number.
func (u existenceUser) identifiers() []string {
	ids := []string{u.Username, u.sub}
	if p := u.Attributes["preferred_username"]; p != "" {
		ids = append(ids, p)
	}
	if u.Attributes["email_verified"] == "true" {
		ids = append(ids, u.Attributes["email"])
	}
	if u.Attributes["phone_number_verified"] == "true" {
		ids = append(ids, u.Attributes["phone_number"])
	}
	return ids
}

// missingIdentifiers are n identifiers of each shape that match nobody.
func missingIdentifiers(n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids,
			fmt.Sprintf("ghost-%03d", i),
			fmt.Sprintf("ghost-pref-%03d", i),
			fmt.Sprintf("00000000-0000-4000-8000-000000000%03d", i),
			fmt.Sprintf("ghost-%03d@example.org", i),
			fmt.Sprintf("+1555559%04d", i),
		)
	}
	return ids
}

// variants are ways to write one identifier: as is, in upper case, and in
// full-width forms.
func variants(id string) []string {
	full := strings.Map(func(r rune) rune {
		if r > 0x20 && r < 0x7f {
			return r - 0x21 + 0xff01
		}
		return r
	}, id)
	return []string{id, strings.ToUpper(id), full}
}

// shapeName is what an identifier looks like: "email", "phone" or "name".
func shapeName(id string) string {
	id = recovery.FoldIdentifier(id)
	if local, domain, ok := strings.Cut(id, "@"); ok && local != "" && domain != "" {
		return "email"
	}
	if len(id) > 1 && id[0] == '+' && strings.Trim(id[1:], "0123456789") == "" {
		return "phone"
	}
	return "name"
}

var (
	emailMask = regexp.MustCompile(`^[^*@]\*\*\*@[^*@]\*\*\*$`)
	phoneMask = regexp.MustCompile(`^\+\*+[0-9]{4}$`)
)

// class is what an answer reveals about the identifier: the medium, and
// whether the destination is the identifier itself, masked ("self"), or
// something else ("other").
func class(id string, d recovery.CodeDeliveryDetails) string {
	self := recovery.MaskEmail(recovery.FoldIdentifier(id))
	if d.DeliveryMedium == recovery.SMS {
		self = recovery.MaskPhone(recovery.FoldIdentifier(id))
	}
	if d.Destination == self {
		return string(d.DeliveryMedium) + "/self"
	}
	return string(d.DeliveryMedium) + "/other"
}

// TestAnswersHideExistence checks that, for a client that hides user
// existence, one ForgotPassword answer cannot tell an identifier that
// belongs to an account from one that does not. For each account-recovery
// setting (phone first, email first, email only, phone only), with and
// without Simulation.ChannelFromIdentifier, it builds an engine on fresh
// stores from newStores, seeds users of every kind (both channels verified,
// one, none, disabled, an address stored in mixed case), and asks for a
// code for every identifier of theirs (username, sub, preferred_username,
// email, phone number) and for many identifiers of the same shapes that
// match nobody, each written as is, in upper case and in full-width forms.
// Through via (nil: in process) it checks that:
//   - every answer succeeds, with the same Shape;
//   - the variants of one identifier get the same answer;
//   - every destination is masked in lower case by one pattern (a***@b***,
//     or "+", stars and four digits for an 11-digit number), its
//     attribute matching its medium;
//   - for each shape of identifier, the kinds of answer (medium, and
//     whether the destination is the identifier itself) that existing
//     identifiers get are exactly those that missing ones get;
//   - where either of two media is possible for a missing identifier, each
//     comes up in 30% to 70% of them (the default weights are equal).
func TestAnswersHideExistence(t *testing.T, newStores ExistenceStores, via Transport) {
	t.Helper()
	if via == nil {
		via = inProcess
	}
	settings := []struct {
		name string
		ar   []recovery.RecoveryMechanism
	}{
		{"PhoneFirst", nil},
		{"EmailFirst", []recovery.RecoveryMechanism{recovery.VerifiedEmail, recovery.VerifiedPhoneNumber}},
		{"EmailOnly", []recovery.RecoveryMechanism{recovery.VerifiedEmail}},
		{"PhoneOnly", []recovery.RecoveryMechanism{recovery.VerifiedPhoneNumber}},
	}
	for _, s := range settings {
		for _, named := range []bool{false, true} {
			name := s.name
			if named {
				name += "/ChannelFromIdentifier"
			}
			t.Run(name, func(t *testing.T) { checkHidden(t, newStores, via, s.ar, named) })
		}
	}
}

// checkHidden runs the check for one account-recovery setting, with or
// without Simulation.ChannelFromIdentifier, on fresh stores.
func checkHidden(t *testing.T, newStores ExistenceStores, via Transport, ar []recovery.RecoveryMechanism, named bool) {
	users, codes := newStores(t)
	creator, ok := users.(recovery.UserCreator)
	if !ok {
		t.Fatalf("%T does not implement recovery.UserCreator, so it cannot be seeded", users)
	}
	e := newExistenceEngine(t, users, codes, ar, named)
	existing := seedExistenceUsers(t, creator)
	recoverFn := via(t, e)
	answer := func(id string) Answer {
		t.Helper()
		var first Answer
		for i, v := range variants(id) {
			a := recoverFn(t.Context(), recovery.RecoverRequest{ClientID: "web", Username: v})
			switch {
			case a.Error != "":
				t.Fatalf("ForgotPassword(%q): %s", v, a.Error)
			case i == 0:
				first = a
			case a != first:
				t.Errorf("ForgotPassword(%q) = %+v, but %q got %+v", v, a, id, first)
			}
		}
		checkMask(t, id, first)
		return first
	}
	classes := func(ids []string) (map[string]map[string]int, string) {
		out := map[string]map[string]int{}
		var shape string
		for _, id := range ids {
			a := answer(id)
			if shape == "" {
				shape = a.Shape
			} else if a.Shape != shape {
				t.Errorf("ForgotPassword(%q) answered with shape %q, others with %q", id, a.Shape, shape)
			}
			s := shapeName(id)
			if out[s] == nil {
				out[s] = map[string]int{}
			}
			out[s][class(id, a.Details)]++
		}
		return out, shape
	}
	real, realShape := classes(existing)
	ghost, ghostShape := classes(missingIdentifiers(40))
	if realShape != ghostShape {
		t.Errorf("existing identifiers answer with shape %q, missing ones with %q", realShape, ghostShape)
	}
	for _, s := range []string{"name", "email", "phone"} {
		got, want := keys(real[s]), keys(ghost[s])
		if !slices.Equal(got, want) {
			t.Errorf("identifiers shaped like a %s: existing ones get answers %v, missing ones %v; a single answer can tell them apart", s, got, want)
		}
		if len(ghost[s]) == 2 {
			n := slices.Collect(maps.Values(ghost[s]))
			if share := float64(n[0]) / float64(n[0]+n[1]); share < 0.3 || share > 0.7 {
				t.Errorf("identifiers shaped like a %s that match nobody: answers %v, want each kind in 30%%-70%% of them", s, ghost[s])
			}
		}
	}
}

// newExistenceEngine builds the engine of one setting, closed when the test
// ends.
func newExistenceEngine(t *testing.T, users recovery.UserStore, codes recovery.CodeStore, ar []recovery.RecoveryMechanism, named bool) *recovery.Engine {
	t.Helper()
	e, err := recovery.New(recovery.Config{
		Users: users, Codes: codes, Sender: recovery.SenderFunc(func(context.Context, recovery.Message) error { return nil }),
		Clients:         []recovery.Client{{ID: "web"}},
		Keys:            []recovery.Key{{ID: "k1", Secret: []byte("existence-check-key-0123456789abcdef")}},
		AccountRecovery: ar,
		Simulation:      recovery.Simulation{ChannelFromIdentifier: named},
		// Many identifiers name one user; the budget must not refuse them.
		Policy: recovery.Policy{Budget: 10000},
		Hasher: InsecureHasher{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// seedExistenceUsers creates existenceUsers and returns every identifier
// that names one of them.
func seedExistenceUsers(t *testing.T, creator recovery.UserCreator) []string {
	t.Helper()
	var existing []string
	for _, u := range existenceUsers() {
		created, err := creator.CreateUser(t.Context(), recovery.DefaultPoolID, u, "")
		if err != nil {
			t.Fatalf("seeding %s: %v", u.Username, err)
		}
		existing = append(existing, existenceUser{User: u, sub: created.Sub}.identifiers()...)
	}
	return existing
}

// checkMask checks one answer's destination pattern.
func checkMask(t *testing.T, id string, a Answer) {
	t.Helper()
	d := a.Details
	switch {
	case d.DeliveryMedium == recovery.Email && d.AttributeName == recovery.AttrEmail && emailMask.MatchString(d.Destination):
		if strings.IndexFunc(d.Destination, unicode.IsUpper) >= 0 {
			t.Errorf("ForgotPassword(%q): destination %q shows upper case", id, d.Destination)
		}
	case d.DeliveryMedium == recovery.SMS && d.AttributeName == recovery.AttrPhoneNumber && phoneMask.MatchString(d.Destination):
		if digits := len(d.Destination) - 1; digits != recovery.DefaultPhoneDigits {
			t.Errorf("ForgotPassword(%q): destination %q masks %d digits, the seeded numbers have %d", id, d.Destination, digits, recovery.DefaultPhoneDigits)
		}
	default:
		t.Errorf("ForgotPassword(%q): details %+v are not a masked address or number", id, d)
	}
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
