// Command server is a small auth service that embeds the recovery engine and
// speaks Cognito's wire protocol, so the AWS SDKs and CLI can drive it:
//
//	go run ./examples/server
//
// With no flags it keeps everything in memory, runs in development mode
// (messages, codes included, printed to stderr, under a loud warning), and
// seeds a demo user and client, which it prints at start. Flags:
//
//	-addr 127.0.0.1:8080          listen address
//	-seed FILE                    JSON seed: pool, clients, users (see README); creates missing
//	                              users, never changes an existing one
//	-store memory|postgres|redis  where users, codes, budgets and sign-in failures live
//	-postgres URL                 with -store postgres (or RECOVERY_POSTGRES_URL)
//	-postgres-schema NAME         schema of the recovery_* tables (default public)
//	-redis URL                    with -store redis (or RECOVERY_REDIS_URL)
//	-redis-prefix PREFIX          prefix of every Redis key (default recovery:)
//	-key SECRET                   deprecated (ps shows it): use RECOVERY_KEY or -key-file
//	-key-file FILE                code-hashing keys, as RECOVERY_KEY
//	-pseudonym-key-file FILE      pseudonym key, as RECOVERY_PSEUDONYM_KEY
//	-admin-credentials-file FILE  ACCESS_KEY_ID:SECRET_ACCESS_KEY, as RECOVERY_ADMIN_CREDENTIALS:
//	                              serves AdminResetUserPassword to requests signed with it
//	-smtp HOST:PORT               send email through this SMTP server (SMTP_USERNAME, SMTP_PASSWORD)
//	-smtp-from ADDRESS            From address of email
//	-sms-webhook URL              send SMS through the webhook sender (SMS_WEBHOOK_SECRET)
//	-async                        deliver through a queue with retries (asyncsender)
//	-queue auto|memory|river|asynq where deliveries wait: auto is River (Postgres) or asynq
//	                              (Redis) on a shared store with a real channel, else memory
//	-deliver-during-request-reveals-existence
//	                              deliver during the request (tests only)
//	-read-header-timeout 5s       time to read a request's headers
//	-read-timeout 10s             time to read a whole request; a slower client is cut off
//	-write-timeout 30s            time to answer; the request's context ends at 9/10 of it
//	-idle-timeout 60s             time a keep-alive connection may stay idle
//	-max-conns 1024               most connections served at once
//	-shutdown-grace 10s           time for in-flight requests, then for queued messages, at shutdown
//	-max-hashes GOMAXPROCS        most argon2id hashes at once, for sign-ins and for resets each
//	-sign-in-failures 5           failed sign-ins per user per window, then "Password attempts exceeded"
//	-sign-in-window 15m           the window of -sign-in-failures, from the first failure
//	-pages /recover/              serve the forgot/reset password pages under this path (off by default)
//	-pages-client ID              the app client the pages act as (default: the seed's first)
//
// Secrets come from the environment or files, never only from the command
// line: RECOVERY_KEY holds the code-hashing keys (hex or base64, 32+ bytes
// each, comma-separated; the first issues codes, every one is accepted, so
// keys rotate by putting a new one first); RECOVERY_PSEUDONYM_KEY keeps the
// answers for unknown users stable across that rotation. Without a key the
// server uses a random one and warns that codes neither survive a restart
// nor work on another instance.
//
// Development mode (neither -smtp nor -sms-webhook) prints every code to
// stderr. As soon as one channel is configured nothing is printed: the
// pool's account recovery keeps only the configured media, so users fall
// back to the channel there is, and a user without one gets the engine's
// answer for a user without a usable channel.
//
// Delivery is off the request path (the engine's outbox, or -async) for
// clients that hide user existence; clients that reveal it deliver during
// the request, as in Cognito.
//
// On SIGTERM or SIGINT the server stops accepting, gives the requests in
// flight -shutdown-grace to finish (then ends their contexts, so they
// answer at once, and cuts the connections still open a second later),
// gives the queued messages -shutdown-grace to go out (then drops them),
// and exits 0. A second signal ends it at once.
//
// Besides ForgotPassword and ConfirmForgotPassword it answers InitiateAuth
// (USER_PASSWORD_AUTH), so a client can check that a reset worked, and,
// with admin credentials, AdminResetUserPassword for callers that sign
// with them (SigV4): the user's sign-in then answers
// PasswordResetRequiredException until the code sent is confirmed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/recoverykit/recoverykit/delivery/locales"
	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/cognitohttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	err := run(ctx, os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run starts the server and serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := assemble(ctx, o, stderr, log)
	if err != nil {
		return err
	}
	defer a.backend.close()
	defer drain(a.engine, o.shutdownGrace, log)
	ln, err := listen(o.addr, o.maxConns)
	if err != nil {
		return err
	}
	announce(o, a, stderr, log)
	// Before "ready", which tests and scripts wait for.
	announcePages(o, ln.Addr().String(), log)
	log.Info("ready", "addr", ln.Addr().String(), "store", o.store, "pool", a.seed.UserPoolID, "dev_mode", o.dev())
	return serve(ctx, newHTTPServer(o, a.routes(o.pages), log), ln, o.shutdownGrace, log)
}

// app is the assembled server.
type app struct {
	seed    seed
	keys    keyring
	backend *backend
	engine  *recovery.Engine
	handler *cognitohttp.Handler
	admin   cognitohttp.AdminAuthenticator // nil: admin operations off
	pages   http.Handler                   // nil without -pages
}

// assemble reads the seed and the keys, opens the storage, applies the
// seed, and builds the engine and the HTTP handler.
func assemble(ctx context.Context, o options, stderr io.Writer, log *slog.Logger) (app, error) {
	var a app
	var err error
	if a.seed, err = loadSeed(o.seed); err != nil {
		return a, err
	}
	if a.keys, err = loadKeys(o, func(msg string, args ...any) { log.Warn(msg, args...) }); err != nil {
		return a, err
	}
	warnArgv(o, log)
	if a.admin, err = adminAuthenticator(o, log); err != nil {
		return a, err
	}
	ch, err := newChannels(o, stderr)
	if err != nil {
		return a, err
	}
	mechanisms, err := ch.mechanisms(a.seed.mechanisms(), log)
	if err != nil {
		return a, err
	}
	if a.backend, err = newBackend(ctx, o, log); err != nil {
		return a, err
	}
	hasher := recovery.Argon2id{}
	if err = a.backend.seedUsers(ctx, a.seed, hasher, log); err == nil {
		a.engine, err = newEngine(ctx, o, a, ch, mechanisms, hasher, log)
	}
	if err == nil {
		a.handler, err = newHandler(o, a, hasher, log)
	}
	if err == nil {
		a.pages, err = newPages(o, a, log)
	}
	if err != nil {
		a.backend.close()
	}
	return a, err
}

// newEngine builds the recovery engine on the backend and the channels.
func newEngine(ctx context.Context, o options, a app, ch channels, mechanisms []recovery.RecoveryMechanism, hasher recovery.PasswordHasher, log *slog.Logger) (*recovery.Engine, error) {
	outbox, err := newOutbox(ctx, o, a.backend, a.keys.keys, log)
	if err != nil {
		return nil, err
	}
	return recovery.New(recovery.Config{
		PoolID:              a.seed.UserPoolID,
		Users:               a.backend.users,
		Codes:               a.backend.codes,
		Sender:              ch.sender(),
		Outbox:              outbox,
		Clients:             a.seed.clients(),
		Keys:                a.keys.keys,
		PseudonymKey:        a.keys.pseudonym,
		AccountRecovery:     mechanisms,
		Templates:           locales.All(), // a user's locale (or the pages' language) picks the message's
		Hasher:              hasher,
		MaxConcurrentHashes: o.maxHashes,
		// The per-user budget and failure lock live with the codes. No
		// per-client or per-IP request limiter: every request of a local
		// demo or load test comes from one client and 127.0.0.1, and it
		// would cost a third round trip per request.
		Logger: log,
	})
}

// newHandler serves the engine and InitiateAuth over Cognito's protocol.
func newHandler(o options, a app, hasher recovery.PasswordHasher, log *slog.Logger) (*cognitohttp.Handler, error) {
	auth, err := newSignIn(a.seed.UserPoolID, a.seed.clients(), a.backend.users, hasher, signInLimits{
		failures: a.backend.failures, limit: o.signInFailures, window: o.signInWindow,
		secret: a.keys.signInSecret(), maxHashes: o.maxHashes,
	})
	if err != nil {
		return nil, err
	}
	return cognitohttp.New(a.engine, cognitohttp.Options{
		Operations: map[string]cognitohttp.Operation{"InitiateAuth": auth.InitiateAuth},
		Admin:      a.admin,
		Logger:     log,
	}), nil
}

// adminAuthenticator reads the admin credentials from -admin-credentials-file
// or RECOVERY_ADMIN_CREDENTIALS ("ACCESS_KEY_ID:SECRET_ACCESS_KEY"); nil,
// with neither, refuses every admin request.
func adminAuthenticator(o options, log *slog.Logger) (cognitohttp.AdminAuthenticator, error) {
	text, source := os.Getenv(adminCredsEnv), adminCredsEnv
	if o.adminCredentialsFile != "" {
		if text != "" {
			return nil, fmt.Errorf("the admin credentials are given twice (-admin-credentials-file and %s): keep one", adminCredsEnv)
		}
		b, err := os.ReadFile(o.adminCredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("-admin-credentials-file: %w", err)
		}
		text, source = string(b), "-admin-credentials-file"
	}
	if text == "" {
		log.Info("admin operations are off: set -admin-credentials-file or " + adminCredsEnv + " to serve AdminResetUserPassword")
		return nil, nil
	}
	id, secret, ok := strings.Cut(strings.TrimSpace(text), ":")
	if !ok || id == "" || strings.ContainsAny(id, " \t\n/") || len(secret) < 20 {
		// The text is a secret: the error does not quote it.
		return nil, fmt.Errorf("%s: want ACCESS_KEY_ID:SECRET_ACCESS_KEY, the secret 20 characters or more", source)
	}
	log.Info("admin operations on: AdminResetUserPassword for requests signed (SigV4, service cognito-idp) with this access key", "access_key_id", id)
	return cognitohttp.StaticCredentials(id, secret), nil
}

// announce prints the start-up banners and, without -seed, the demo user.
func announce(o options, a app, stderr io.Writer, log *slog.Logger) {
	banner := func(b string) { fmt.Fprintln(stderr, b) }
	if o.dev() {
		banner(devBanner)
		log.Warn("development mode: recovery codes are printed to stderr; set -smtp and/or -sms-webhook for a real service")
	}
	announceKeys(a.keys, banner, log)
	if o.seed == "" {
		fmt.Fprintf(stderr, "demo pool %s: client %q (no secret), user %q with password %q (email demo@example.com)\n",
			a.seed.UserPoolID, a.seed.Clients[0].ClientID, a.seed.Users[0].Username, a.seed.Users[0].Password)
	}
}

// warnArgv warns about secrets in the store URLs given as flags.
func warnArgv(o options, log *slog.Logger) {
	if urlHasPassword(o.postgres) && o.postgres != os.Getenv(postgresURLEnv) {
		log.Warn("-postgres carries a password, which ps shows to every local user: use " + postgresURLEnv + ", PGPASSWORD or ~/.pgpass")
	}
	if urlHasPassword(o.redis) && o.redis != os.Getenv(redisURLEnv) {
		log.Warn("-redis carries a password, which ps shows to every local user: use " + redisURLEnv)
	}
}

// drain closes the engine at shutdown: the queued messages get up to grace
// to go out, then those left are dropped (and logged).
func drain(engine *recovery.Engine, grace time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := engine.Close(ctx); err != nil {
		log.Warn("messages still queued after the grace period were dropped", "grace", grace, "error", err)
		return
	}
	log.Info("delivery queue drained")
}
