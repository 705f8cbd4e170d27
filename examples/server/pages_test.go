package main_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// pagePost posts form to the server's url, with header's pairs.
func pagePost(t *testing.T, target string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return pageDo(t, req)
}

func pageDo(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPages: with -pages the server serves the pages beside Cognito's
// protocol. A reset link opened three times (as a mail scanner would)
// leaves the code usable; only the post uses it, and redirects to a URL
// without it; a cross-origin post is refused.
func TestPages(t *testing.T) {
	seed, _ := writeSeed(t)
	s := start(t, nil, "-seed", seed, "-pages", "/recover/", "-pages-client", "quiet")
	base := "http://" + s.addr + "/recover/"
	if !strings.Contains(s.log(), "msg=\"recovery pages\" url="+base) {
		t.Errorf("the pages' URL is not logged:\n%s", s.log())
	}
	resp, body := pagePost(t, base, url.Values{"username": {"alice"}}, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "a***@e***") {
		t.Fatalf("request page: %d\n%s", resp.StatusCode, body)
	}
	code := s.printedCode(t, "alice@example.com")
	link := base + "reset?username=alice&code=" + code
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, link, nil)
		if resp, body := pageDo(t, req); resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="`+code+`"`) {
			t.Fatalf("GET of the link: %d\n%s", resp.StatusCode, body)
		}
	}
	if err := s.signIn("quiet", "alice", "Old-passw0rd!"); err != nil {
		t.Fatalf("after opening the link, the old password no longer signs in: %v", err)
	}
	form := url.Values{"username": {"alice"}, "code": {code}, "password": {"N3w-passw0rd!"}}
	resp, _ = pagePost(t, base+"reset", form, "Origin", "http://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin post: %d, want 403", resp.StatusCode)
	}
	resp, _ = pagePost(t, base+"reset", form, "Origin", "http://"+s.addr, "Sec-Fetch-Site", "same-origin")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "done" {
		t.Fatalf("reset post: %d Location %q, want 303 done", resp.StatusCode, loc)
	}
	if err := s.signIn("quiet", "alice", "N3w-passw0rd!"); err != nil {
		t.Fatalf("the new password does not sign in: %v", err)
	}
	// Cognito's protocol is still served beside the pages.
	if _, err := s.sdk.ForgotPassword(context.Background(), &cip.ForgotPasswordInput{ClientId: aws.String("web"), Username: aws.String("alice")}); err != nil {
		t.Fatalf("ForgotPassword beside the pages: %v", err)
	}
	stop(t, s)
}

// TestPagesBadFlags: a malformed -pages, or a -pages-client that is not in
// the seed, stops the server.
func TestPagesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-pages", "recover"},
		{"-pages", "/"},
		{"-pages-client", "demo"},
		{"-pages", "/recover/", "-pages-client", "nobody"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, binary, append([]string{"-addr", "127.0.0.1:0"}, args...)...).CombinedOutput()
		if ctx.Err() != nil || err == nil {
			t.Errorf("%v: the server started\n%s", args, out)
		} else if !strings.Contains(string(out), "-pages") {
			t.Errorf("%v: the error does not name the flag:\n%s", args, out)
		}
		cancel()
	}
}
