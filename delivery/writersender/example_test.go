package writersender_test

import (
	"context"
	"os"

	"github.com/recoverykit/recoverykit/delivery/writersender"
	"github.com/recoverykit/recoverykit/recovery"
)

// For demos only: the code is printed in clear.
func Example() {
	s := writersender.New(os.Stdout)
	s.Send(context.Background(), recovery.Message{
		Medium: recovery.SMS, To: "+15550100", Username: "alice", Locale: "en",
		Code: "493817", Text: "Your password reset code is 493817",
	})
	// Output:
	// #### DEV ONLY: writersender prints recovery codes; never use it in production ####
	// To:       +15550100 (SMS)
	// Username: alice
	// Locale:   en
	// Code:     493817
	// --- text ---
	// Your password reset code is 493817
	// ##################################################################################
}
