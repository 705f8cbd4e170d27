package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/recoverykit/recoverykit/delivery/asyncsender"
)

// Defaults of the flags that bound the HTTP server, sign-in and shutdown.
const (
	defaultReadHeaderTimeout = 5 * time.Second
	defaultReadTimeout       = 10 * time.Second
	defaultWriteTimeout      = 30 * time.Second
	defaultIdleTimeout       = 60 * time.Second
	defaultMaxConns          = 1024
	defaultShutdownGrace     = 10 * time.Second
	defaultSignInFailures    = 5
	defaultSignInWindow      = 15 * time.Minute
	// maxHeaderBytes bounds request headers; AWS SDK requests send about 1 KiB.
	maxHeaderBytes = 64 << 10
)

// Environment variables the server reads: secrets, and URLs that may hold
// one, so that none need be on the command line, where ps shows it.
const (
	keyEnv          = "RECOVERY_KEY"
	pseudonymKeyEnv = "RECOVERY_PSEUDONYM_KEY"
	postgresURLEnv  = "RECOVERY_POSTGRES_URL"
	redisURLEnv     = "RECOVERY_REDIS_URL"
	smtpUserEnv     = "SMTP_USERNAME"
	smtpPasswordEnv = "SMTP_PASSWORD"
	adminCredsEnv   = "RECOVERY_ADMIN_CREDENTIALS"
)

// options are the command-line flags.
type options struct {
	addr, seed, store                        string
	postgres, postgresSchema                 string
	redis, redisPrefix                       string
	key, keyFile, pseudonymKeyFile           string
	smtp, smtpFrom, smsWebhook               string
	async, deliverInline                     bool
	asyncQueueSize, asyncWorkers             int
	queue                                    string
	readHeaderTimeout, readTimeout           time.Duration
	writeTimeout, idleTimeout, shutdownGrace time.Duration
	maxConns, maxHashes                      int
	signInFailures                           int
	signInWindow                             time.Duration
	adminCredentialsFile                     string
	pages, pagesClient                       string
}

// dev reports whether the server runs in development mode: no real
// channel, every message printed to stderr.
func (o options) dev() bool { return o.smtp == "" && o.smsWebhook == "" }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	storageFlags(fs, &o)
	secretFlags(fs, &o)
	deliveryFlags(fs, &o)
	limitFlags(fs, &o)
	pagesFlags(fs, &o)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: server [flags]\n\nSecrets come from the environment or files: %s (or -key-file), %s, SMS_WEBHOOK_SECRET, %s, %s and %s (or -admin-credentials-file); %s and %s may replace -postgres and -redis.\n\nFlags:\n",
			keyEnv, pseudonymKeyEnv, smtpUserEnv, smtpPasswordEnv, adminCredsEnv, postgresURLEnv, redisURLEnv)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting is a flag (see -help)", fs.Args())
	}
	return o, o.validate()
}

func storageFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.seed, "seed", "", "JSON seed file (pool, clients, users); default: a demo user and client.\n"+
		"Users of the seed that do not exist yet are created. A user that exists (same username) is\n"+
		"never changed: its password, status, enabled flag and attributes stay as they are, so a\n"+
		"restart does not undo a password reset.")
	fs.StringVar(&o.store, "store", "memory", "where users, codes, budgets and sign-in failures live: memory (one process),\n"+
		"postgres (needs -postgres) or redis (needs -redis); instances on one database or Redis agree")
	fs.StringVar(&o.postgres, "postgres", "", "Postgres URL, with -store postgres (or "+postgresURLEnv+"; keep passwords out of argv: PGPASSWORD or ~/.pgpass)")
	fs.StringVar(&o.postgresSchema, "postgres-schema", "public", "Postgres schema of the recovery_* tables, with -store postgres (created if missing)")
	fs.StringVar(&o.redis, "redis", "", "Redis URL, with -store redis (or "+redisURLEnv+", which keeps a password out of argv)")
	fs.StringVar(&o.redisPrefix, "redis-prefix", "recovery:", "prefix of every Redis key, with -store redis")
}

func secretFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.key, "key", "", "code-hashing key, hex or base64, 32+ bytes. Deprecated: ps shows it to every local user;\n"+
		"use "+keyEnv+" or -key-file (default: a random key; codes die with the process)")
	fs.StringVar(&o.keyFile, "key-file", "", "file holding the code-hashing keys, as "+keyEnv+": hex or base64, 32+ bytes each,\n"+
		"separated by commas or newlines; the first issues codes, all are accepted")
	fs.StringVar(&o.pseudonymKeyFile, "pseudonym-key-file", "", "file holding the pseudonym key (as "+pseudonymKeyEnv+"): keeps simulated answers\n"+
		"stable across key rotation (default: derived from the first code-hashing key)")
	fs.StringVar(&o.adminCredentialsFile, "admin-credentials-file", "", "file holding ACCESS_KEY_ID:SECRET_ACCESS_KEY (as "+adminCredsEnv+"): turns on\n"+
		"AdminResetUserPassword for callers that sign with that key (SigV4, as the AWS SDKs and CLI do);\n"+
		"without it, admin operations are refused")
}

func deliveryFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.smtp, "smtp", "", "SMTP server HOST:PORT for email (credentials in "+smtpUserEnv+" and "+smtpPasswordEnv+").\n"+
		"With neither -smtp nor -sms-webhook the server runs in development mode and prints codes to stderr")
	fs.StringVar(&o.smtpFrom, "smtp-from", "no-reply@recoverykit.example", "From address of email, with -smtp")
	fs.StringVar(&o.smsWebhook, "sms-webhook", "", "URL of the SMS webhook (signing secret in SMS_WEBHOOK_SECRET)")
	fs.BoolVar(&o.async, "async", false, "deliver through a queue with retries (asyncsender) instead of the engine's in-process\n"+
		"outbox; both deliver off the request path for clients that hide user existence")
	fs.IntVar(&o.asyncQueueSize, "async-queue-size", asyncsender.DefaultQueueSize, "with -async: deliveries the queue holds. Size it to the longest burst to ride out: its\n"+
		"requests minus what the workers send meanwhile (-async-workers / mean send time x burst length); a\n"+
		"full queue drops the delivery (logged, and the caller still told a code was sent)")
	fs.IntVar(&o.asyncWorkers, "async-workers", 16, "with -async: deliveries sent at once; they send -async-workers / (mean send time) a second")
	fs.StringVar(&o.queue, "queue", "auto", "where deliveries wait for their worker: river (durable, in -store postgres), asynq\n"+
		"(durable, in -store redis), memory (the engine's in-process outbox, lost on a crash), or auto:\n"+
		"river or asynq for a shared store with -smtp or -sms-webhook, else memory (development mode\n"+
		"prints each code on the instance that was asked)")
	fs.BoolVar(&o.deliverInline, "deliver-during-request-reveals-existence", false, "deliver during the request (recovery.NewInlineOutbox):\n"+
		"response times then tell which accounts exist; for tests only")
}

func limitFlags(fs *flag.FlagSet, o *options) {
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", defaultReadHeaderTimeout, "time to read a request's headers")
	fs.DurationVar(&o.readTimeout, "read-timeout", defaultReadTimeout, "time to read a whole request, headers and body; a slower client is cut off")
	fs.DurationVar(&o.writeTimeout, "write-timeout", defaultWriteTimeout, "time from the end of the headers to the end of the response;\n"+
		"the request's context ends at 9/10 of it, so a hung delivery during the request is answered")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", defaultIdleTimeout, "time a keep-alive connection may stay idle")
	fs.IntVar(&o.maxConns, "max-conns", defaultMaxConns, "most connections served at once; more wait to be accepted")
	fs.DurationVar(&o.shutdownGrace, "shutdown-grace", defaultShutdownGrace, "on SIGTERM or SIGINT: time in-flight requests get to finish (then\n"+
		"they are ended, and cut 1s later), then time queued messages get to go out (then they are dropped); exit 0")
	fs.IntVar(&o.maxHashes, "max-hashes", runtime.GOMAXPROCS(0), "most argon2id hashes (19 MiB each) computed at once by sign-ins, and\n"+
		"separately by password resets; more wait their turn")
	fs.IntVar(&o.signInFailures, "sign-in-failures", defaultSignInFailures, "failed sign-ins per user (or unknown username) per -sign-in-window;\n"+
		"then every sign-in of that user is refused (NotAuthorizedException \"Password attempts exceeded\") until the window ends")
	fs.DurationVar(&o.signInWindow, "sign-in-window", defaultSignInWindow, "window of -sign-in-failures; it starts at the first failure")
}

// validate checks the flags that depend on each other, and fills the
// store URLs from the environment.
func (o *options) validate() error {
	var errs []error
	switch o.store {
	case "memory":
	case "postgres":
		if o.postgres == "" {
			o.postgres = os.Getenv(postgresURLEnv)
		}
		if o.postgres == "" {
			errs = append(errs, fmt.Errorf("-store postgres needs -postgres URL (or %s)", postgresURLEnv))
		}
	case "redis":
		if o.redis == "" {
			o.redis = os.Getenv(redisURLEnv)
		}
		if o.redis == "" {
			errs = append(errs, fmt.Errorf("-store redis needs -redis URL (or %s)", redisURLEnv))
		}
	default:
		errs = append(errs, fmt.Errorf("-store %q: use memory, postgres or redis", o.store))
	}
	if o.async && o.deliverInline {
		errs = append(errs, errors.New("-async and -deliver-during-request-reveals-existence exclude each other: keep one"))
	}
	errs = append(errs, o.validateQueue()...)
	errs = append(errs, o.validatePages()...)
	for name, d := range map[string]time.Duration{"-read-header-timeout": o.readHeaderTimeout, "-read-timeout": o.readTimeout,
		"-write-timeout": o.writeTimeout, "-idle-timeout": o.idleTimeout, "-shutdown-grace": o.shutdownGrace, "-sign-in-window": o.signInWindow} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s is %s: use a positive duration such as 10s", name, d))
		}
	}
	for name, n := range map[string]int{"-max-conns": o.maxConns, "-max-hashes": o.maxHashes, "-sign-in-failures": o.signInFailures,
		"-async-queue-size": o.asyncQueueSize, "-async-workers": o.asyncWorkers} {
		if n <= 0 {
			errs = append(errs, fmt.Errorf("%s is %d: use a positive number", name, n))
		}
	}
	return errors.Join(errs...)
}

// urlHasPassword reports whether a store URL given on the command line
// carries a password, which ps would show.
func urlHasPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return false
	}
	_, ok := u.User.Password()
	return ok || u.Query().Has("password")
}

// validateQueue checks -queue against the store and the other delivery
// flags.
func (o *options) validateQueue() []error {
	switch o.queue {
	case "auto", "memory":
		return nil
	case "river", "asynq":
		var errs []error
		if want := map[string]string{"river": "postgres", "asynq": "redis"}[o.queue]; o.store != want {
			errs = append(errs, fmt.Errorf("-queue %s keeps deliveries in the store: it needs -store %s", o.queue, want))
		}
		if o.async || o.deliverInline {
			errs = append(errs, fmt.Errorf("-queue %s excludes -async and -deliver-during-request-reveals-existence: keep one", o.queue))
		}
		return errs
	}
	return []error{fmt.Errorf("-queue %q: use auto, memory, river or asynq", o.queue)}
}

// durableQueue reports whether deliveries wait in the store's durable
// queue: -queue river or asynq, or auto on a shared store with a real
// channel and neither -async nor inline delivery.
func (o options) durableQueue() bool {
	switch o.queue {
	case "river", "asynq":
		return true
	case "auto":
		return o.store != "memory" && !o.dev() && !o.async && !o.deliverInline
	}
	return false
}
