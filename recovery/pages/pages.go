// Package pages serves ready-made, server-rendered password recovery
// pages on a recovery.Engine: "forgot password" (ask for a code) and
// "reset password" (code and new password). They work without JavaScript,
// speak English, German, French and Spanish, and are safe by default:
//
//	h, err := pages.New(engine, pages.Options{ClientID: "web"})
//	mux.Handle("/recover/", h)
//
// The handler serves, under wherever it is mounted (it reads only the last
// segment of the path, so it needs no http.StripPrefix):
//
//	GET  /recover/           the request form
//	POST /recover/           Engine.Recover; answers with the masked destination
//	                         and a link to the reset form
//	GET  /recover/reset      the reset form; ?username=…&code=… fill it in and
//	                         consume nothing, so a link in a message survives
//	                         mail scanners that open it
//	POST /recover/reset      Engine.Confirm; on success a 303 redirect to done,
//	                         otherwise the form again with the error
//	GET  /recover/done       the success page
//	GET  /recover/style.css  the stylesheet (Options.CSS, or the default)
//
// # Language
//
// A page's language is the lang parameter (?lang=de, carried on in the
// forms and links) when it is en, de, fr or es; otherwise the one of those
// the browser ranks highest in Accept-Language; otherwise
// Options.DefaultLanguage. The language switcher links to the same page
// in another language, filled in as it is when it was opened from a link
// (a message's username and code stay; a POST's answer links with ?lang
// alone, so that no code lands in a URL). The language is also passed to
// the engine as ClientMetadata["locale"], which picks the message's
// template (see delivery/locales). Errors are shown by their Cognito name
// only, never in the engine's English wording; an InvalidPasswordException
// names the broken rule, and the rules are listed beside the password
// field.
//
// # Safety
//
// Every answer carries Content-Security-Policy "default-src 'none';
// style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri
// 'none'" (style-src also allows the origin of Options.CSSURL),
// Referrer-Policy no-referrer, X-Content-Type-Options nosniff and
// Cache-Control no-store. Cross-origin form posts are refused with 403 by
// net/http's CrossOriginProtection. Codes and passwords travel only in POST
// bodies; no answer to a POST has them in its URL. The request page answers
// alike for known and unknown identifiers when the client hides user
// existence (the engine's default): UserNotFoundException only reaches the
// page for a client with RevealUserExistence. The client's address is the
// connection's, or the right-most X-Forwarded-For entry past
// Options.TrustedProxies, as in cognitohttp.
//
// # Theming
//
// Options.CSS replaces the stylesheet; Options.CSSURL points to one
// elsewhere. Options.Layout replaces the page around the content: it must
// define a template named "layout", which the handler executes with a
// *Page; it writes Page.Content (the page's own markup, already escaped)
// and should link Page.Stylesheet and set lang="{{.Lang}}". The default
// layout is a centred card, one column on a phone.
package pages

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/recoverykit/recoverykit/recovery"
	"github.com/recoverykit/recoverykit/recovery/cognitohttp"
	"github.com/recoverykit/recoverykit/recovery/jsonhttp"
)

// maxFormBytes bounds a form post: three short fields and the language.
const maxFormBytes = 16 << 10

//go:embed assets
var assets embed.FS

var (
	contentTemplates = template.Must(template.ParseFS(assets, "assets/pages.html"))
	defaultLayout    = template.Must(template.ParseFS(assets, "assets/layout.html"))
	defaultCSS       = mustRead("assets/style.css")
)

func mustRead(name string) []byte {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// Options configure the pages.
type Options struct {
	// ClientID is the app client the pages call the engine as. Required.
	// A client that hides user existence (the default) keeps the request
	// page from telling which accounts exist.
	ClientID string
	// ClientSecret is that client's secret, when it has one: the pages
	// compute the SecretHash, as a server-side client does.
	ClientSecret string
	// TrustedProxies are the proxies whose X-Forwarded-For is believed for
	// the engine's SourceIP. Default none: the connection's address.
	TrustedProxies []netip.Prefix
	// TrustedOrigins are origins ("https://accounts.example.com") allowed
	// to post the forms besides the pages' own, for a form hosted
	// elsewhere. Default none.
	TrustedOrigins []string
	// DefaultLanguage is the language when neither ?lang nor
	// Accept-Language names one of en, de, fr, es. Default "en".
	DefaultLanguage string
	// Layout, if set, replaces the default layout. It must define a
	// template named "layout", executed with a *Page.
	Layout *template.Template
	// CSS, if set, replaces the default stylesheet served at style.css.
	CSS []byte
	// CSSURL, if set, is the URL of the stylesheet instead (an absolute
	// https URL or a path on this host); its origin is added to the
	// Content-Security-Policy's style-src. Exclusive with CSS.
	CSSURL string
	// SignInURL, if set, is linked from the success page.
	SignInURL string
	// Logger records what fails inside the handler (the engine logs its
	// own errors). Default slog.Default().
	Logger *slog.Logger
}

// Page is what a layout template is executed with.
type Page struct {
	// Lang is the page's language tag: en, de, fr or es.
	Lang string
	// Title is the page's title, for <title>.
	Title string
	// Stylesheet is the URL of the stylesheet: "style.css" (relative to
	// the page) or Options.CSSURL.
	Stylesheet string
	// Content is the page's own markup: heading, messages and form.
	Content template.HTML
	// LanguageNav labels the language switcher, in Lang.
	LanguageNav string
	// Languages are the links of a language switcher.
	Languages []Language
}

// Language is one entry of the language switcher.
type Language struct {
	// Tag is the language tag, Name the language's name in itself.
	Tag, Name string
	// URL is this page in that language (relative).
	URL string
	// Current reports whether it is the page's language.
	Current bool
}

// Handler serves the pages. Build it with New.
type Handler struct {
	engine *recovery.Engine
	opts   Options
	layout *template.Template
	css    []byte
	csp    string
	next   http.Handler
}

// New checks opts and returns the pages' handler for engine.
func New(engine *recovery.Engine, opts Options) (*Handler, error) {
	if err := opts.validate(engine); err != nil {
		return nil, err
	}
	h := &Handler{engine: engine, opts: opts, layout: opts.Layout, css: opts.CSS, csp: csp(opts.CSSURL)}
	if h.layout == nil {
		h.layout = defaultLayout
	}
	if h.css == nil {
		h.css = defaultCSS
	}
	if h.opts.DefaultLanguage == "" {
		h.opts.DefaultLanguage = "en"
	}
	if h.opts.Logger == nil {
		h.opts.Logger = slog.Default()
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range opts.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("pages: Options.TrustedOrigins: %w", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(h.crossOrigin))
	h.next = cop.Handler(http.HandlerFunc(h.route))
	return h, nil
}

func (o Options) validate(engine *recovery.Engine) error {
	var errs []error
	if engine == nil {
		errs = append(errs, errors.New("pages: the engine is nil: pass the *recovery.Engine to serve"))
	}
	if o.ClientID == "" {
		errs = append(errs, errors.New("pages: Options.ClientID is empty: name the app client the pages call as"))
	}
	if o.DefaultLanguage != "" && texts[o.DefaultLanguage] == nil {
		errs = append(errs, fmt.Errorf("pages: Options.DefaultLanguage %q: use en, de, fr or es", o.DefaultLanguage))
	}
	if o.Layout != nil && o.Layout.Lookup("layout") == nil {
		errs = append(errs, errors.New(`pages: Options.Layout defines no template named "layout": define one that writes {{.Content}}`))
	}
	if o.CSS != nil && o.CSSURL != "" {
		errs = append(errs, errors.New("pages: Options.CSS and Options.CSSURL are both set: keep one"))
	}
	if o.CSSURL != "" {
		u, err := url.Parse(o.CSSURL)
		if err != nil || !(u.Scheme == "https" && u.Host != "" || u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/")) {
			errs = append(errs, fmt.Errorf("pages: Options.CSSURL %q: use an https URL or a path starting with /", o.CSSURL))
		}
	}
	return errors.Join(errs...)
}

// csp is the Content-Security-Policy: nothing but the stylesheet, forms
// posted back here, never framed.
func csp(cssURL string) string {
	style := "'self'"
	if u, err := url.Parse(cssURL); err == nil && u.Scheme == "https" {
		style += " https://" + u.Host
	}
	return "default-src 'none'; style-src " + style + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// ServeHTTP serves the pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	h.next.ServeHTTP(w, r)
}

// route dispatches on the last segment of the path.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	seg := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	post := r.Method == http.MethodPost
	switch {
	case seg == "" && get:
		h.requestForm(w, r)
	case seg == "" && post:
		h.forgot(w, r)
	case seg == "reset" && get:
		h.resetForm(w, r)
	case seg == "reset" && post:
		h.confirm(w, r)
	case seg == "done" && get:
		h.done(w, r)
	case seg == "style.css" && get && h.opts.CSSURL == "":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(h.css)
	case seg == "" || seg == "reset":
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, r)
	}
}

// view is what the content templates are executed with.
type view struct {
	T         *text
	Lang      string
	LangField bool // the language was chosen with ?lang: the form carries it on
	Problem   problem
	Username  string
	Code      string
	Status    string
	Rules     []string
	ResetURL  string
	SignInURL string
	// RequestURL links back to the request form.
	RequestURL string
	// prefill is what a GET page was filled in from its query, kept by the
	// language switcher's links; never set from a POST, whose secrets stay
	// out of URLs.
	prefill url.Values
}

// newView starts the view of r, in its language.
func (h *Handler) newView(r *http.Request) *view {
	lang, explicit := language(r, h.opts.DefaultLanguage)
	v := &view{T: texts[lang], Lang: lang, LangField: explicit, SignInURL: h.opts.SignInURL, RequestURL: "./"}
	if explicit {
		v.RequestURL = "./?lang=" + lang
	}
	return v
}

// link is the relative URL of page with query, plus the language when the
// user chose it.
func (v *view) link(page string, q url.Values) string {
	if v.LangField {
		q.Set("lang", v.Lang)
	}
	if len(q) == 0 {
		return page
	}
	return page + "?" + q.Encode()
}

// switchTo is the language switcher's link to this page in lang: the
// same page, filled in as it is (a link from a message keeps its username
// and code).
func (v *view) switchTo(lang string) string {
	q := url.Values{"lang": {lang}}
	for k, vs := range v.prefill {
		if len(vs) == 1 && vs[0] != "" {
			q[k] = vs
		}
	}
	return "?" + q.Encode()
}

func (h *Handler) requestForm(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	v.Username = r.URL.Query().Get(fieldUsername)
	v.prefill = url.Values{fieldUsername: {v.Username}}
	h.render(w, r, http.StatusOK, "request", v.T.RequestTitle, v)
}

// forgot asks the engine for a code. The answer page is the same for an
// account and for no account, when the client hides existence: the engine
// then simulates a destination.
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	v, ok := h.readForm(w, r)
	if !ok {
		return
	}
	v.Username = r.PostFormValue(fieldUsername)
	d, err := h.engine.Recover(r.Context(), recovery.RecoverRequest{
		ClientID: h.opts.ClientID, SecretHash: h.secretHash(v.Username), Username: v.Username,
		SourceIP: cognitohttp.SourceIP(r, h.opts.TrustedProxies), ClientMetadata: map[string]string{"locale": v.Lang},
	})
	if err != nil {
		v.Problem = explain(err, v.T, h.engine.PasswordPolicy(), map[string]string{fieldUsername: v.Username})
		h.render(w, r, jsonhttp.Status(err), "request", v.T.RequestTitle, v)
		return
	}
	v.Status = fmt.Sprintf(v.T.SentEmail, d.Destination)
	if d.DeliveryMedium == recovery.SMS {
		v.Status = fmt.Sprintf(v.T.SentSMS, d.Destination)
	}
	v.ResetURL = v.link("reset", url.Values{fieldUsername: {v.Username}})
	h.render(w, r, http.StatusOK, "sent", v.T.SentTitle, v)
}

// resetForm shows the reset form, filled in from the query. It calls
// nothing: opening a link with the code, as mail scanners do, uses nothing
// up.
func (h *Handler) resetForm(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	q := r.URL.Query()
	v.Username, v.Code = q.Get(fieldUsername), q.Get(fieldCode)
	v.prefill = url.Values{fieldUsername: {v.Username}, fieldCode: {v.Code}}
	v.Rules = rules(h.engine.PasswordPolicy(), v.T)
	h.render(w, r, http.StatusOK, "reset", v.T.ResetTitle, v)
}

// confirm checks the code and sets the password, then redirects (303) to
// the success page, so that neither a reload nor the history posts again.
func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	v, ok := h.readForm(w, r)
	if !ok {
		return
	}
	v.Username, v.Code = r.PostFormValue(fieldUsername), r.PostFormValue(fieldCode)
	password := r.PostFormValue(fieldPassword)
	policy := h.engine.PasswordPolicy()
	err := h.engine.Confirm(r.Context(), recovery.ConfirmRequest{
		ClientID: h.opts.ClientID, SecretHash: h.secretHash(v.Username), Username: v.Username,
		ConfirmationCode: v.Code, Password: password,
		SourceIP: cognitohttp.SourceIP(r, h.opts.TrustedProxies), ClientMetadata: map[string]string{"locale": v.Lang},
	})
	if err == nil {
		// A relative Location: it resolves against the page's own URL,
		// wherever the handler is mounted.
		w.Header().Set("Location", v.link("done", url.Values{}))
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	v.Problem = explain(err, v.T, policy, map[string]string{fieldUsername: v.Username, fieldCode: v.Code, fieldPassword: password})
	if v.Problem.Field != fieldPassword {
		// The code is wrong, spent or locked: do not offer it again. A
		// refused password leaves the code usable, so it stays.
		v.Code = ""
	}
	v.Rules = rules(policy, v.T)
	h.render(w, r, jsonhttp.Status(err), "reset", v.T.ResetTitle, v)
}

func (h *Handler) done(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	h.render(w, r, http.StatusOK, "done", v.T.DoneTitle, v)
}

// crossOrigin answers a refused cross-origin post.
func (h *Handler) crossOrigin(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r)
	v.Problem = problem{Message: v.T.ErrCrossOrigin}
	h.render(w, r, http.StatusForbidden, "failure", v.T.ErrorTitle, v)
}

// readForm parses a posted form within maxFormBytes and starts its view;
// on a bad form it answers and returns false.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request) (*view, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		v := h.newView(r)
		v.Problem = problem{Message: v.T.ErrBadForm}
		h.render(w, r, http.StatusBadRequest, "failure", v.T.ErrorTitle, v)
		return nil, false
	}
	return h.newView(r), true
}

func (h *Handler) secretHash(username string) string {
	if h.opts.ClientSecret == "" {
		return ""
	}
	return recovery.SecretHash(h.opts.ClientSecret, username, h.opts.ClientID)
}

// render executes the content template name, then the layout around it,
// and writes the page with status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, v *view) {
	var content, page bytes.Buffer
	err := contentTemplates.ExecuteTemplate(&content, name, v)
	if err == nil {
		p := &Page{Lang: v.Lang, Title: title, Stylesheet: "style.css", Content: template.HTML(content.String()), LanguageNav: v.T.LanguageNav}
		if h.opts.CSSURL != "" {
			p.Stylesheet = h.opts.CSSURL
		}
		for _, l := range languages {
			p.Languages = append(p.Languages, Language{Tag: l.tag, Name: l.name, URL: v.switchTo(l.tag), Current: l.tag == v.Lang})
		}
		err = h.layout.ExecuteTemplate(&page, "layout", p)
	}
	if err != nil {
		h.opts.Logger.LogAttrs(r.Context(), slog.LevelError, "pages: rendering failed", slog.String("page", name), slog.Any("error", err))
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(page.Bytes())
}
