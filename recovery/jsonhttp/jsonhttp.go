// Package jsonhttp serves the recovery engine as two plain JSON endpoints,
// for services whose clients are not Cognito clients:
//
//	h, err := jsonhttp.New(engine, jsonhttp.Options{ClientID: "web", Fields: jsonhttp.Fields{Username: "email"}})
//	mux.Handle("POST /password/forgot", h.Forgot())
//	mux.Handle("POST /password/reset", h.Reset())
//
// Forgot takes {"email": "..."} (the member names are the host's, from
// Fields) and answers 200 {"destination": "a***@e***", "medium": "EMAIL",
// "attribute": "email"}. Reset takes {"email", "code", "password"} and
// answers 204. Errors answer {"error": "<Cognito name>", "message": "...",
// "fields": {"code": "..."}} with the status Status gives, their messages
// naming the host's fields. The client's address is the connection's, or
// the right-most X-Forwarded-For entry past Options.TrustedProxies, as in
// cognitohttp; the first language of Accept-Language picks the message's
// locale.
package jsonhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/cognitohttp"
)

// DefaultMaxBodyBytes bounds a request body when Options.MaxBodyBytes is
// zero: far more than three fields need.
const DefaultMaxBodyBytes = 16 << 10

// Fields are the JSON member names of the host's API. Zero fields take the
// defaults "username", "code" and "password".
type Fields struct {
	Username, Code, Password string
}

// Options configure a Handler.
type Options struct {
	// ClientID is the app client the endpoints call the engine as.
	// Required.
	ClientID string
	// ClientSecret is that client's secret, when it has one: the handler
	// computes the SecretHash itself, as a server-side client does.
	ClientSecret string
	// Fields are the member names of the request bodies.
	Fields Fields
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	// Default none: the connection's address is the client's.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes bounds request bodies. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger records requests that fail before reaching the engine (the
	// engine logs its own). Default slog.Default().
	Logger *slog.Logger
}

// Handler serves the two endpoints. Build it with New.
type Handler struct {
	engine *recovery.Engine
	opts   Options
	names  map[string]string // the engine's member names -> the host's
}

// New checks opts and returns a Handler for engine.
func New(engine *recovery.Engine, opts Options) (*Handler, error) {
	var errs []error
	if engine == nil {
		errs = append(errs, errors.New("jsonhttp: the engine is nil: pass the *recovery.Engine to serve"))
	}
	if opts.ClientID == "" {
		errs = append(errs, errors.New("jsonhttp: Options.ClientID is empty: name the app client these endpoints call as"))
	}
	if opts.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("jsonhttp: Options.MaxBodyBytes is %d: use a positive size, or 0 for %d", opts.MaxBodyBytes, DefaultMaxBodyBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	f := &opts.Fields
	f.Username, f.Code, f.Password = or(f.Username, "username"), or(f.Code, "code"), or(f.Password, "password")
	if f.Username == f.Code || f.Username == f.Password || f.Code == f.Password {
		return nil, fmt.Errorf("jsonhttp: Options.Fields %+v: give each field its own name", *f)
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{engine: engine, opts: opts, names: map[string]string{
		"username": f.Username, "confirmationCode": f.Code, "password": f.Password,
	}}, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// delivery is the body of a successful Forgot.
type delivery struct {
	Destination string `json:"destination"`
	Medium      string `json:"medium"`
	Attribute   string `json:"attribute"`
}

// Forgot is the handler of POST {username}: the engine's Recover.
func (h *Handler) Forgot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := h.read(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		d, err := h.engine.Recover(r.Context(), recovery.RecoverRequest{
			ClientID: h.opts.ClientID, SecretHash: h.secretHash(in[h.opts.Fields.Username]),
			Username: in[h.opts.Fields.Username], SourceIP: h.source(r), ClientMetadata: locale(r),
		})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		write(w, http.StatusOK, delivery{d.Destination, string(d.DeliveryMedium), d.AttributeName})
	})
}

// Reset is the handler of POST {username, code, password}: the engine's
// Confirm.
func (h *Handler) Reset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := h.read(w, r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		f := h.opts.Fields
		err = h.engine.Confirm(r.Context(), recovery.ConfirmRequest{
			ClientID: h.opts.ClientID, SecretHash: h.secretHash(in[f.Username]),
			Username: in[f.Username], ConfirmationCode: in[f.Code], Password: in[f.Password],
			SourceIP: h.source(r), ClientMetadata: locale(r),
		})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (h *Handler) secretHash(username string) string {
	if h.opts.ClientSecret == "" {
		return ""
	}
	return recovery.SecretHash(h.opts.ClientSecret, username, h.opts.ClientID)
}

func (h *Handler) source(r *http.Request) netip.Addr {
	return cognitohttp.SourceIP(r, h.opts.TrustedProxies)
}

// locale passes the first language of Accept-Language as
// ClientMetadata["locale"], which picks the message's template.
func locale(r *http.Request) map[string]string {
	tag, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
	tag, _, _ = strings.Cut(strings.TrimSpace(tag), ";")
	if tag == "" || tag == "*" || len(tag) > 35 {
		return nil
	}
	return map[string]string{"locale": tag}
}

// badRequest is an error of the request itself, before the engine.
type badRequest struct{ message string }

func (e *badRequest) Error() string { return e.message }

// read decodes a JSON object of strings within the body limit. Only the
// configured fields are read; others are ignored.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, &badRequest{"Content-Type must be application/json."}
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &badRequest{fmt.Sprintf("The request body is larger than %d bytes.", h.opts.MaxBodyBytes)}
		}
		return nil, &badRequest{"Could not read the request body."}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		return nil, &badRequest{"The request body must be a JSON object."}
	}
	in := map[string]string{}
	f := h.opts.Fields
	for _, name := range []string{f.Username, f.Code, f.Password} {
		v, ok := raw[name]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			// Names the member, never echoes its value.
			return nil, &badRequest{fmt.Sprintf("%s must be a string.", name)}
		}
		in[name] = s
	}
	return in, nil
}

// errorBody is the body of every error answer.
type errorBody struct {
	Error   string            `json:"error"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// fail answers err with its status and a body naming the host's fields.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var bad *badRequest
	if errors.As(err, &bad) {
		h.opts.Logger.LogAttrs(r.Context(), slog.LevelDebug, "jsonhttp: bad request", slog.String("error", bad.message))
		write(w, http.StatusBadRequest, errorBody{Error: string(recovery.InvalidParameterException), Message: bad.message})
		return
	}
	var re *recovery.Error
	if !errors.As(err, &re) {
		re = recovery.ErrInternal
	}
	body := errorBody{Error: string(re.Name), Message: re.Message}
	if vs := recovery.Violations(err); len(vs) > 0 {
		body.Fields = map[string]string{}
		var parts []string
		for _, v := range vs {
			name := h.names[v.Member]
			if name == "" {
				name = v.Member
			}
			body.Fields[name] = v.Constraint
			parts = append(parts, name+": "+v.Constraint)
		}
		body.Message = strings.Join(parts, "; ")
	}
	write(w, Status(err), body)
}

func write(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
