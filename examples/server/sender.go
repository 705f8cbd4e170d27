package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
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

// channels are the configured senders per medium. In development mode
// (neither -smtp nor -sms-webhook) both print to stderr; otherwise a
// medium without a configured channel has none (nil), and nothing is ever
// printed.
type channels struct {
	email, sms recovery.Sender
	dev        bool
}

// newChannels builds email over -smtp and SMS over -sms-webhook, or the
// stderr printer for both in development mode.
func newChannels(o options, stderr io.Writer) (channels, error) {
	if o.dev() {
		printer := writersender.New(stderr)
		return channels{email: printer, sms: printer, dev: true}, nil
	}
	var c channels
	var err error
	if o.smtp != "" {
		if c.email, err = newSMTP(o); err != nil {
			return c, err
		}
	}
	if o.smsWebhook != "" {
		if c.sms, err = newSMSWebhook(o); err != nil {
			return c, err
		}
	}
	return c, nil
}

// newSMTP builds the email sender; credentials come from SMTP_USERNAME and
// SMTP_PASSWORD.
func newSMTP(o options) (recovery.Sender, error) {
	host, portText, err := net.SplitHostPort(o.smtp)
	if err != nil {
		return nil, fmt.Errorf("-smtp %q: %w: use HOST:PORT", o.smtp, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("-smtp %q: the port is not a number: use HOST:PORT", o.smtp)
	}
	mode := smtpsender.StartTLS
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		// A local relay or test sink: STARTTLS only if offered.
		mode = smtpsender.StartTLSOpportunistic
	}
	return smtpsender.New(smtpsender.Config{
		Host: host, Port: port, TLS: mode,
		Username: os.Getenv(smtpUserEnv), Password: os.Getenv(smtpPasswordEnv),
		From: o.smtpFrom, FromName: "Account recovery",
	})
}

// newSMSWebhook builds the SMS sender. Behind -async, which retries each
// delivery itself, it makes one attempt per Send, so that the two layers of
// retries do not multiply (webhooksender's and asyncsender's package
// documentation); behind the engine's outbox it keeps its own retries.
func newSMSWebhook(o options) (recovery.Sender, error) {
	secret, err := standardwebhooks.ParseSecret(os.Getenv(smsSecretEnv))
	if err != nil || len(secret) < webhooksender.MinSecretBytes {
		return nil, fmt.Errorf("-sms-webhook needs %s=whsec_<base64 of %d+ random bytes> (e.g. whsec_$(head -c 32 /dev/urandom | base64))", smsSecretEnv, webhooksender.MinSecretBytes)
	}
	cfg := webhooksender.Config{URL: o.smsWebhook, Secret: secret}
	if o.async {
		cfg.MaxAttempts = 1
	}
	return webhooksender.New(cfg)
}

// errNoChannel is the answer of a medium without a configured channel. The
// engine never sends there (mechanisms leaves it out); it is permanent, so
// no outbox retries it.
type errNoChannel struct{ medium recovery.DeliveryMedium }

func (e errNoChannel) Error() string {
	return fmt.Sprintf("no %s channel is configured (set -smtp for email, -sms-webhook for SMS)", e.medium)
}

// Temporary reports that trying again does not help (recovery.Retryable).
func (errNoChannel) Temporary() bool { return false }

// sender routes each message to its medium's channel.
func (c channels) sender() recovery.Sender {
	return recovery.SenderFunc(func(ctx context.Context, m recovery.Message) error {
		s := c.email
		if m.Medium == recovery.SMS {
			s = c.sms
		}
		if s == nil {
			return errNoChannel{m.Medium}
		}
		return s.Send(ctx, m)
	})
}

// mechanisms is the pool's AccountRecovery given the channels: the seed's
// as it is in development mode; otherwise only the configured media, so
// that a user falls back to a configured channel, and a user who has none
// gets the engine's answer for a user without a usable channel (a
// simulated one for clients that hide existence, InvalidParameterException
// for the others). A seed whose every mechanism lacks a channel is refused.
func (c channels) mechanisms(seed []recovery.RecoveryMechanism, log *slog.Logger) ([]recovery.RecoveryMechanism, error) {
	if c.dev || (c.email != nil && c.sms != nil) || slices.Equal(seed, []recovery.RecoveryMechanism{recovery.AdminOnly}) {
		return seed, nil
	}
	if len(seed) == 0 { // Cognito's legacy rule: phone, then email
		seed = []recovery.RecoveryMechanism{recovery.VerifiedPhoneNumber, recovery.VerifiedEmail}
	}
	var out []recovery.RecoveryMechanism
	for _, m := range seed {
		switch {
		case m == recovery.VerifiedEmail && c.email != nil, m == recovery.VerifiedPhoneNumber && c.sms != nil:
			out = append(out, m)
		default:
			log.Warn("account recovery through "+string(m)+" is off: no channel for it (-smtp for email, -sms-webhook for SMS); users without the other channel cannot reset", "mechanism", m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the seed's accountRecovery %q needs a channel that is not configured: set -smtp for verified_email or -sms-webhook for verified_phone_number", seed)
	}
	return out, nil
}

// newOutbox picks how deliveries leave the request path: on a shared store
// with a real channel (or -queue river|asynq) the store's durable queue;
// with -async a
// queue with retries (asyncsender); with
// -deliver-during-request-reveals-existence none (recovery.NewInlineOutbox,
// which reveals existence by timing); otherwise the engine's default
// in-process outbox (nil). engine.Close drains the first and the last.
func newOutbox(ctx context.Context, o options, b *backend, keys []recovery.Key, log *slog.Logger) (recovery.Outbox, error) {
	switch {
	case o.durableQueue():
		log.Info("deliveries wait in the store's durable queue", "queue", map[string]string{"postgres": "river", "redis": "asynq"}[o.store])
		return b.queue(ctx, keys, log)
	case o.deliverInline:
		log.Warn("-deliver-during-request-reveals-existence: response times tell which accounts exist; use it for tests only")
		return recovery.NewInlineOutbox(), nil
	case o.async:
		// Delivery is latency-bound (a mail server's round trips): many
		// workers, and room for bursts.
		return asyncsender.New(asyncsender.Options{Workers: o.asyncWorkers, QueueSize: o.asyncQueueSize, Logger: log})
	}
	return nil, nil
}
