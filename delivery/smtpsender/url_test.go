package smtpsender_test

import (
	"strings"
	"testing"

	"github.com/recoverykit/recoverykit/delivery/smtpsender"
	"github.com/recoverykit/recoverykit/recovery"
)

func TestParseURL(t *testing.T) {
	cfg, err := smtpsender.ParseURL("smtp://mailer:p%40ss%2Fw0rd@smtp.example.com:2587?from=no-reply@example.com&from_name=Example&tls=opportunistic&auth=login")
	if err != nil {
		t.Fatal(err)
	}
	want := smtpsender.Config{Host: "smtp.example.com", Port: 2587, TLS: smtpsender.StartTLSOpportunistic, Auth: smtpsender.AuthLogin,
		Username: "mailer", Password: "p@ss/w0rd", From: "no-reply@example.com", FromName: "Example"}
	if cfg.Host != want.Host || cfg.Port != want.Port || cfg.TLS != want.TLS || cfg.Auth != want.Auth ||
		cfg.Username != want.Username || cfg.Password != want.Password || cfg.From != want.From || cfg.FromName != want.FromName {
		t.Fatalf("got %+v", cfg)
	}
	if _, err := smtpsender.New(cfg); err != nil {
		t.Fatalf("New refused a parsed config: %v", err)
	}
	if _, err := smtpsender.NewFromURL("smtp://relay.example.com?tls=none&from=a@example.com"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("NewFromURL let plain text go to a remote host: %v", err)
	}
	if cfg, err := smtpsender.ParseURL("smtps://[::1]?from=a@example.com"); err != nil || cfg.TLS != smtpsender.ImplicitTLS || cfg.Host != "::1" || cfg.Port != 0 || cfg.DisablePipelining {
		t.Fatalf("smtps: %+v, %v", cfg, err)
	}
	if cfg, err := smtpsender.ParseURL("smtps://[::1]?from=a@example.com&pipelining=OFF"); err != nil || !cfg.DisablePipelining {
		t.Fatalf("pipelining=OFF: %+v, %v", cfg, err)
	}
}

func TestParseURLRefusesWithoutEchoingSecrets(t *testing.T) {
	const secret = "s3cr%zzet"
	for raw, want := range map[string]string{
		"smtp://u:" + secret + "@host:25":         "malformed",
		"http://u:" + "s3cret" + "@host":          "scheme",
		"smtp://u:s3cret@host:99999":              "port",
		"smtp://u:s3cret@host?form=a@example.com": `unknown parameter "form"`,
		"smtp://u:s3cret@host?tls=maybe":          "tls=",
		"smtp://u:s3cret@host?pipelining=no":      "pipelining=",
		"smtp://u:s3cret@host?from=a@b&from=c@d":  "2 times",
		"smtp://u:s3cret@host/path":               "malformed",
		"smtp://u:s3cret@host?auth=xoauth2":       "auth=",
	} {
		_, err := smtpsender.ParseURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseURL(%q) = %v, want an error saying %q", raw, err, want)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("ParseURL(%q): the error echoes the password: %v", raw, err)
		}
	}
}

// An engine on an SMTP sender never names SMS, even in simulated answers.
func TestSenderReportsEmailOnly(t *testing.T) {
	s, err := smtpsender.New(smtpsender.Config{Host: "127.0.0.1", TLS: smtpsender.NoTLS, From: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var r recovery.MediaReporter = s
	if m := r.Media(); len(m) != 1 || m[0] != recovery.Email {
		t.Fatalf("Media() = %v", m)
	}
}
