package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/recoverykit/recoverykit/recovery/pages"
)

func pagesFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.pages, "pages", "", "serve the forgot/reset password pages (recovery/pages) under this path, e.g. /recover/;\n"+
		"off by default")
	fs.StringVar(&o.pagesClient, "pages-client", "", "the app client of the seed the pages act as, with -pages (default: the seed's first\n"+
		"client); one that hides user existence keeps the pages from telling which accounts exist")
}

// validatePages checks -pages and -pages-client.
func (o *options) validatePages() []error {
	var errs []error
	if o.pages != "" && (!strings.HasPrefix(o.pages, "/") || !strings.HasSuffix(o.pages, "/") || o.pages == "/") {
		errs = append(errs, fmt.Errorf("-pages %q: use a path that starts and ends with /, such as /recover/", o.pages))
	}
	if o.pagesClient != "" && o.pages == "" {
		errs = append(errs, fmt.Errorf("-pages-client %q needs -pages: set the path to serve the pages under", o.pagesClient))
	}
	return errs
}

// newPages builds the recovery pages for -pages, acting as -pages-client
// with its secret from the seed; nil without -pages.
func newPages(o options, a app, log *slog.Logger) (http.Handler, error) {
	if o.pages == "" {
		return nil, nil
	}
	client := a.seed.Clients[0]
	if o.pagesClient != "" {
		found := false
		for _, c := range a.seed.Clients {
			if c.ClientID == o.pagesClient {
				client, found = c, true
			}
		}
		if !found {
			return nil, fmt.Errorf("-pages-client %q is not a client of the seed: name one of its clients", o.pagesClient)
		}
	}
	return pages.New(a.engine, pages.Options{ClientID: client.ClientID, ClientSecret: client.ClientSecret, Logger: log})
}

// routes is the server's handler: the pages under -pages, Cognito's
// protocol everywhere else.
func (a app) routes(prefix string) http.Handler {
	if a.pages == nil {
		return a.handler
	}
	mux := http.NewServeMux()
	mux.Handle("/", a.handler)
	mux.Handle(prefix, a.pages)
	return mux
}

// announcePages logs where the pages are.
func announcePages(o options, addr string, log *slog.Logger) {
	if o.pages != "" {
		log.Info("recovery pages", "url", "http://"+addr+o.pages)
	}
}
