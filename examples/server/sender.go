package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/delivery/webhooksender"
	"github.com/recoverykit/recoverykit/delivery/writersender"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/standardwebhooks"
)

// smsSecretEnv names the variable holding the SMS webhook's signing secret
// (whsec_ and base64), which -sms-webhook needs: a secret does not belong
// on a command line, where ps shows it.
const smsSecretEnv = "SMS_WEBHOOK_SECRET"

// newSender builds the sender: email over -smtp, SMS over -sms-webhook,
// each printed to stderr when its flag is absent, and the outbox: with
// -async, a queue with retries (asyncsender) in front of it; without, the
// engine's default in-process outbox (nil here). Either way delivery
// happens off the request path for clients that hide user existence; the
// engine's Close drains the outbox.
func newSender(o options, stderr io.Writer, log *slog.Logger) (recovery.Sender, recovery.Outbox, error) {
	printer := writersender.New(stderr)
	var email, sms recovery.Sender = printer, printer
	if o.smtp != "" {
		host, portText, err := net.SplitHostPort(o.smtp)
		if err != nil {
			return nil, nil, fmt.Errorf("-smtp %q: %w", o.smtp, err)
		}
		port, err := strconv.Atoi(portText)
		if err != nil {
			return nil, nil, fmt.Errorf("-smtp %q: bad port", o.smtp)
		}
		mode := smtpsender.StartTLS
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			// A local relay or test sink: no auth, STARTTLS only if offered.
			mode = smtpsender.StartTLSOpportunistic
		}
		s, err := smtpsender.New(smtpsender.Config{
			Host: host, Port: port, TLS: mode,
			From: "no-reply@recoverykit.example", FromName: "Account recovery",
		})
		if err != nil {
			return nil, nil, err
		}
		email = s
	}
	if o.smsWebhook != "" {
		secret, err := standardwebhooks.ParseSecret(os.Getenv(smsSecretEnv))
		if err != nil || len(secret) < webhooksender.MinSecretBytes {
			return nil, nil, fmt.Errorf("-sms-webhook needs %s=whsec_<base64 of %d+ random bytes> (e.g. whsec_$(head -c 32 /dev/urandom | base64))", smsSecretEnv, webhooksender.MinSecretBytes)
		}
		s, err := webhooksender.New(webhooksender.Config{URL: o.smsWebhook, Secret: secret})
		if err != nil {
			return nil, nil, err
		}
		sms = s
	}
	var sender recovery.Sender = recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		if m.Medium == recovery.SMS {
			return sms.Send(ctx, m)
		}
		return email.Send(ctx, m)
	})
	if !o.async {
		return sender, nil, nil
	}
	// Every SMTP message opens a connection, so delivery is latency-bound:
	// many workers, and room for bursts.
	queue, err := asyncsender.New(asyncsender.Options{Workers: 16, QueueSize: 8192, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return sender, queue, nil
}
