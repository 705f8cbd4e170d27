package smtpsender_test

import (
	"context"
	"testing"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
)

func closeSender(b *testing.B, s *smtpsender.Sender) {
	if err := s.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
