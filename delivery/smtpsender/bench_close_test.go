package smtpsender_test

import (
	"testing"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
)

// closeSender is a no-op before the Sender pools connections.
func closeSender(b *testing.B, s *smtpsender.Sender) {}
