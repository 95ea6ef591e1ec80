package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/devicegate/devicegate/internal/cli"
	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/exitcode"
	"github.com/devicegate/devicegate/internal/gate"
	"github.com/devicegate/devicegate/internal/oauthhttp"
)

const apiUsage = `usage: sidecar api [--profile P] [--scope 'S1 S2'] [-X METHOD] [-H 'K: V']... [-d DATA] PATH|URL

Calls the provider's API (OAUTH_API_URL) with a valid access token and
prints the response body. With --scope the token is for just those scopes;
a URL-shaped scope (https://management.azure.com/.default) also lets the
token go to that resource's origin, as a full URL. -d @- reads the body from standard input. A non-2xx answer prints its status to stderr and exits 1.`

// maxAPIBody bounds a request body read from a file or stdin.
const maxAPIBody = 64 << 20

// apiCall is a parsed `sidecar api` command line.
type apiCall struct {
	profile string
	minTTL  time.Duration
	method  string
	target  string // PATH or URL as given
	header  http.Header
	body    []byte
	hasBody bool
	scopes  []string // --scope: a token for just these
}

func api(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c, err := parseAPI(args, stdin, stderr)
	if err != nil {
		return err
	}
	s, err := openDetached(c.profile)
	if err != nil {
		return err
	}
	if pr := s.Provider; !pr.Preset.Bearer() {
		return cli.Usagef("api does not call %s (requests there are signed with %s): use `sidecar run -- %s ...`", pr.Preset.Title, pr.Preset.SignIn.Credentials(), pr.Kind)
	}
	ep, err := s.Provider.Endpoints(ctx)
	if err != nil {
		return cli.Exit(exitcode.Provider, err)
	}
	target, err := apiURL(ep.APIURL, c.target, s.Profile, s.Provider.Var("API_URL"), resourceOrigins(c.scopes)...)
	if err != nil {
		return err
	}
	// The gate decides before the token is refreshed or sent.
	pass, err := gateFor(s, ep.APIURL).Check(ctx, gate.Action{Kind: gate.API, Method: c.method, URL: target, Header: c.header, Body: c.bodyOrNil()})
	if err != nil {
		return err
	}
	e, err := validToken(ctx, s, c.minTTL, c.scopes, stderr)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, c.method, target, bytes.NewReader(c.body))
	if err != nil {
		return cli.Usagef("api: %v", err)
	}
	if !c.hasBody {
		req.Body, req.ContentLength = nil, 0
	}
	req.Header = c.header
	req.Header.Set("Authorization", "Bearer "+e.AccessToken)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", s.Provider.Accept)
	}
	if c.hasBody && req.Header.Get("Content-Type") == "" {
		ct := "application/x-www-form-urlencoded"
		if json.Valid(c.body) {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("User-Agent", "devicegate-sidecar")
	return send(*s.HTTP, req, stdout, func(status int) {
		pass.Event.Status = status
		if status == 0 {
			pass.Event.Detail = "unreachable"
		}
		record(pass, stderr)
	})
}

// bodyOrNil is the request body, nil when there is none.
func (c *apiCall) bodyOrNil() []byte {
	if !c.hasBody {
		return nil
	}
	if c.body == nil {
		return []byte{}
	}
	return c.body
}

// send makes the request and copies the answer to stdout; a non-2xx
// answer is exit code 1. answered gets the HTTP status, 0 when none came.
func send(client http.Client, req *http.Request, stdout io.Writer, answered func(status int)) error {
	// Never follow a redirect to another host with our token on it.
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.URL.Host != via[0].URL.Host || r.URL.Scheme != via[0].URL.Scheme {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	res, err := client.Do(req)
	if err != nil {
		answered(0)
		return oauthhttp.Unreachable(req.URL.String(), err)
	}
	defer res.Body.Close()
	answered(res.StatusCode)
	if _, err := io.Copy(stdout, res.Body); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if res.StatusCode/100 != 2 {
		return cli.Exit(exitcode.Failure, fmt.Errorf("%s %s: HTTP %s", req.Method, req.URL.Path, res.Status))
	}
	return nil
}

// parseAPI reads the command line; every mistake is a usage error, found
// before the profile is opened.
func parseAPI(args []string, stdin io.Reader, stderr io.Writer) (*apiCall, error) {
	fs := cli.NewFlags("api", stderr, apiUsage)
	profile := fs.String("profile", "", "profile")
	method := fs.String("X", "", "HTTP method (default GET, or POST with -d)")
	var headers cli.Strings
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	data := fs.String("d", "", "request body, or @- for stdin")
	minTTL := fs.Duration("min-ttl", 60*time.Second, "refresh when the token expires within this")
	scope := fs.String("scope", "", "a token for just these scopes (space separated)")
	pos, _, err := cli.Parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, cli.Usagef("api needs exactly one PATH or URL")
	}
	c := &apiCall{profile: *profile, minTTL: *minTTL, target: pos[0], header: http.Header{}}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") || strings.ContainsAny(v, "\r\n") {
			return nil, cli.Usagef("-H %q: want 'Name: value'", h)
		}
		if strings.EqualFold(k, "Authorization") {
			return nil, cli.Usagef("-H Authorization: the token is added by sidecar")
		}
		c.header.Add(k, strings.TrimSpace(v))
	}
	if isSet(fs, "d") {
		c.hasBody = true
		if c.body, err = readData(*data, stdin); err != nil {
			return nil, err
		}
	}
	c.method = strings.ToUpper(*method)
	if c.method == "" {
		c.method = http.MethodGet
		if c.hasBody {
			c.method = http.MethodPost
		}
	}
	if !validMethod(c.method) {
		return nil, cli.Usagef("-X %q is not an HTTP method", *method)
	}
	if c.scopes, err = parseScopes(*scope); err != nil {
		return nil, err
	}
	return c, nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// resourceOrigins are the origins named by URL-shaped scopes: a token for
// https://management.azure.com/.default is meant for management.azure.com.
func resourceOrigins(scopes []string) []string {
	var out []string
	for _, sc := range scopes {
		if u, err := url.Parse(sc); err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil {
			out = append(out, u.Scheme+"://"+u.Host)
		}
	}
	return out
}

// apiURL joins a path onto the API base, or checks that a full URL points
// at the API's own origin: the token must never be sent anywhere else.
// apiVar names the profile's API URL variable (OAUTH_WORK_API_URL). also
// lists more origins the token is meant for (resourceOrigins).
func apiURL(base, arg, profile, apiVar string, also ...string) (string, error) {
	if base == "" {
		return "", &config.Error{Msg: fmt.Sprintf("profile %s has no API URL: set %s", profile, apiVar)}
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", &config.Error{Var: apiVar, Msg: err.Error()}
	}
	if strings.Contains(arg, "://") {
		u, err := url.Parse(arg)
		if err != nil {
			return "", cli.Usagef("invalid URL %q", arg)
		}
		if (u.Scheme != b.Scheme || u.Host != b.Host) && !slices.Contains(also, u.Scheme+"://"+u.Host) {
			return "", cli.Usagef("refusing to send the token to %s://%s: sidecar api only calls %s://%s (%s)", u.Scheme, u.Host, b.Scheme, b.Host, apiVar)
		}
		return u.String(), nil
	}
	p, q, _ := strings.Cut(arg, "?")
	ref := &url.URL{Path: strings.TrimRight(b.Path, "/") + "/" + strings.TrimLeft(p, "/"), RawQuery: q}
	u := *b
	u.Path, u.RawPath, u.RawQuery = ref.Path, "", ref.RawQuery
	return u.String(), nil
}

// readData returns the request body: DATA as given, or standard input for
// @-. Reading a file (@FILE, as curl does) is refused on purpose: in the
// sidecar container the only files are our secrets, and an agent must not
// be able to send them anywhere.
func readData(d string, stdin io.Reader) ([]byte, error) {
	switch {
	case d == "@-":
	case strings.HasPrefix(d, "@"):
		return nil, cli.Usagef("-d %s: reading a file is not supported; pipe it in with -d @- instead", d)
	default:
		return []byte(d), nil
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxAPIBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	if len(b) > maxAPIBody {
		return nil, cli.Usagef("-d @-: the body is larger than %d MiB", maxAPIBody>>20)
	}
	return b, nil
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
