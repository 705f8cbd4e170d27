// Command server is a small auth service that embeds the recovery engine and
// speaks Cognito's wire protocol, so the AWS SDKs and CLI can drive it:
//
//	go run ./examples/server
//
// With no flags it keeps everything in memory, prints messages (codes
// included) to stderr, and seeds a demo user and client, which it prints at
// start. Flags:
//
//	-addr 127.0.0.1:8080          listen address
//	-seed FILE                    JSON seed: pool, clients, users (see README)
//	-store memory|postgres|redis  where codes and their limits (budgets, locks) live
//	-postgres URL                 with -store postgres: users, codes and limits in Postgres
//	-redis URL                    with -store redis: codes and limits in Redis, users in memory
//	-key SECRET                   code-hashing key, hex or base64 (default: random, codes die with the process)
//	-smtp HOST:PORT               send email through this SMTP server
//	-sms-webhook URL              send SMS through the webhook sender
//	-async                        deliver through a queue with retries (asyncsender)
//
// Besides ForgotPassword and ConfirmForgotPassword it answers InitiateAuth
// (USER_PASSWORD_AUTH), so a client can check that a reset worked.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/cognitohttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	addr, seed, store, postgres, redis, key, smtp, smsWebhook string
	async                                                     bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.seed, "seed", "", "JSON seed file (pool, clients, users); default: a demo user and client")
	fs.StringVar(&o.store, "store", "memory", "where codes live: memory, postgres or redis")
	fs.StringVar(&o.postgres, "postgres", "", "Postgres URL, with -store postgres")
	fs.StringVar(&o.redis, "redis", "", "Redis URL, with -store redis")
	fs.StringVar(&o.key, "key", "", "code-hashing key, hex or base64, 32+ bytes (default: random at start)")
	fs.StringVar(&o.smtp, "smtp", "", "SMTP server HOST:PORT for email (default: print messages to stderr)")
	fs.StringVar(&o.smsWebhook, "sms-webhook", "", "URL of the SMS webhook (default: print messages to stderr)")
	fs.BoolVar(&o.async, "async", false, "deliver through a queue with retries (default: the engine's in-process outbox; both keep delivery off the request path for clients that hide user existence)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch o.store {
	case "memory":
	case "postgres":
		if o.postgres == "" {
			return o, errors.New("-store postgres needs -postgres URL")
		}
	case "redis":
		if o.redis == "" {
			return o, errors.New("-store redis needs -redis URL")
		}
	default:
		return o, fmt.Errorf("-store %q: use memory, postgres or redis", o.store)
	}
	return o, nil
}

// parseKey reads -key as hex or base64.
func parseKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return nil, errors.New("-key is neither hex nor base64")
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := loadSeed(o.seed)
	if err != nil {
		return err
	}

	secret := make([]byte, 32)
	if o.key != "" {
		if secret, err = parseKey(o.key); err != nil {
			return err
		}
	} else {
		rand.Read(secret)
		log.Warn("no -key given: using a random key; outstanding codes will not survive a restart")
	}

	hasher := recovery.Argon2id{}
	b, err := newBackend(ctx, o, log)
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.seedUsers(ctx, s, hasher); err != nil {
		return err
	}
	sender, outbox, err := newSender(o, stderr, log)
	if err != nil {
		return err
	}

	engine, err := recovery.New(recovery.Config{
		PoolID:          s.UserPoolID,
		Users:           b.users,
		Codes:           b.codes,
		Sender:          sender,
		Outbox:          outbox,
		Clients:         s.clients(),
		Keys:            []recovery.Key{{ID: "k1", Secret: secret}},
		AccountRecovery: s.mechanisms(),
		Hasher:          hasher,
		// The per-user budget and failure lock live with the codes. No
		// per-client or per-IP request limiter: every request of a local
		// demo or load test comes from one client and 127.0.0.1, and it
		// would cost a third round trip per request.
		Logger: log,
	})
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := engine.Close(ctx); err != nil {
			log.Warn("draining the delivery queue", "error", err)
		}
	}()
	auth, err := newSignIn(s.UserPoolID, s.clients(), b.users, hasher)
	if err != nil {
		return err
	}
	handler := cognitohttp.New(engine, cognitohttp.Options{
		Operations: map[string]cognitohttp.Operation{"InitiateAuth": auth.InitiateAuth},
		Logger:     log,
	})

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if o.seed == "" {
		fmt.Fprintf(stderr, "demo pool %s: client %q, user %q with password %q (email demo@example.com)\n",
			s.UserPoolID, s.Clients[0].ClientID, s.Users[0].Username, s.Users[0].Password)
	}
	log.Info("ready", "addr", ln.Addr().String(), "store", o.store, "pool", s.UserPoolID)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log.Info("shutting down")
	return srv.Shutdown(shutdownCtx)
}
