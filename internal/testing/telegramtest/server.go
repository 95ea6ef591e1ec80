// Package telegramtest is a fake Telegram Bot API server for tests.
//
// It answers like Telegram does, on the same paths (/bot<TOKEN>/<method>),
// with the same envelopes, HTTP statuses and error descriptions: a wrong token
// is 401 "Unauthorized", badly escaped MarkdownV2 or bad HTML is 400 "can't
// parse entities", an identical edit is 400 "message is not modified", a
// button URL whose host has no dot is 400 "Wrong HTTP URL", a second
// getUpdates poller gets 409 "Conflict", and so on. It accepts form-encoded,
// JSON and multipart bodies.
//
// It records what the person sees in each chat (Chat, WaitFor) and every API
// call (Calls), and it can fail on purpose: Inject queues 429s, 5xx answers
// and dropped connections for one method; StartOutage fails everything.
//
// One server plays several bots, like api.telegram.org: AddBot registers
// another token on the same URL, with chats, updates and calls of its own
// (a message sent with one bot's token appears only in that bot's chats).
// The person taps inline buttons with Tap and TapButton: a callback_query
// update, which the bot must answer with answerCallbackQuery.
//
//	tg := telegramtest.New(t)
//	tg.AddChat(42)
//	// ... give tg.URL() and tg.Token() to the code under test ...
//	err := tg.WaitFor(ctx, func(v telegramtest.View) bool {
//		m, ok := v.Last(42)
//		return ok && strings.Contains(m.Text, "WDJB-MJHT")
//	})
//
// It is the largest package here, on purpose: a fake that accepts what
// Telegram refuses lets a broken message pass every test, so it ports
// Telegram's own entity parsers (markdown.go, html.go) and error answers
// rather than approximating them. The files split it by what a test
// meets: methods, chats, updates, callbacks, commands, links.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Identity of the fake bot.
const (
	// DefaultToken is the token New's server accepts. It looks like a real
	// token, so tests can check that it never leaks into errors or logs.
	DefaultToken = "4242424242:AAFakeTokenForTelegramtest_0123456789"
	BotID        = 4242424242 // the default bot's; AddBot's bots have their own (Server.BotID)
	BotUsername  = "devicegate_test_bot"
	BotFirstName = "Devicegate Test"
)

// Telegram's limits, counted in UTF-16 code units after entity parsing.
const (
	MaxTextLen    = 4096
	MaxCaptionLen = 1024
)

// maxBody bounds every request body the fake reads.
const maxBody = 50 << 20

// Server is a fake Telegram Bot API. It is safe for concurrent use.
type Server struct {
	srv       *httptest.Server
	token     string
	closeOnce *sync.Once
	closed    chan struct{}
	hub       *hub // the bots on this URL, shared by all of them

	botID     int64
	username  string
	firstName string

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every state change
	chats        map[int64]*chat
	calls        []Call
	faults       map[string][]Fault // by lower-case method
	outage       *Fault
	webhook      bool
	updates      []update // not yet confirmed
	nextUpdateID int
	poll         *poller                 // the getUpdates request waiting now, if any
	menus        map[string][]BotCommand // command menus by scope (setMyCommands)
	allowed      []string                // allowed_updates of the last getUpdates that set it
	callbacks    map[string]*callback    // callback queries by id
	nextCallback int
}

// hub routes requests to the bot whose token they carry.
type hub struct {
	mu   sync.Mutex
	bots map[string]*Server
}

func (h *hub) bot(token string) *Server {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bots[token]
}

// New starts a fake server with DefaultToken and closes it when the test
// ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := newBot(DefaultToken, BotID, BotUsername, BotFirstName)
	s.closeOnce = new(sync.Once)
	s.closed = make(chan struct{})
	s.hub = &hub{bots: map[string]*Server{DefaultToken: s}}
	s.srv = httptest.NewServer(s)
	tb.Cleanup(s.Close)
	return s
}

func newBot(token string, id int64, username, firstName string) *Server {
	return &Server{
		token:        token,
		botID:        id,
		username:     username,
		firstName:    firstName,
		changed:      make(chan struct{}),
		chats:        make(map[int64]*chat),
		faults:       make(map[string][]Fault),
		menus:        make(map[string][]BotCommand),
		callbacks:    make(map[string]*callback),
		nextUpdateID: 700000001,
		nextCallback: 1,
	}
}

// AddBot registers another bot on the same server (same URL): token is its
// bot token, which must look like one ("digits:letters"); the bot id is
// the token's digits. The new bot has its own chats, updates, calls and
// faults; closing either closes the server.
func (s *Server) AddBot(token, username, firstName string) *Server {
	if !tokenRE.MatchString(token) {
		panic(fmt.Sprintf("telegramtest: AddBot: %q is not shaped like a bot token", "<token>"))
	}
	digits, _, _ := strings.Cut(token, ":")
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		panic("telegramtest: AddBot: the token's bot id is not a number")
	}
	b := newBot(token, id, username, firstName)
	b.srv, b.closeOnce, b.closed, b.hub = s.srv, s.closeOnce, s.closed, s.hub
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if s.hub.bots[token] != nil {
		panic("telegramtest: AddBot: the token is already registered")
	}
	s.hub.bots[token] = b
	return b
}

// BotID is the bot's user id (the digits of its token).
func (s *Server) BotID() int64 { return s.botID }

// Username is the bot's username, without the @.
func (s *Server) Username() string { return s.username }

// URL is the base URL to use instead of https://api.telegram.org.
func (s *Server) URL() string { return s.srv.URL }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.token }

// Close stops the server, ending any long poll. It is called by the test's
// cleanup; calling it earlier makes the API unreachable.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Call is one API request as the server saw it.
type Call struct {
	Method      string            // as in the path, e.g. "sendMessage"
	Params      map[string]string // form, JSON or multipart fields (never the token)
	Files       map[string][]byte // multipart uploads by field name
	Status      int               // HTTP status answered; 0 for a dropped connection
	Description string            // the error description, if not ok
	Fault       bool              // answered by an injected fault or an outage
}

// Fault is a failure the server produces instead of answering a request.
type Fault struct {
	Status      int    // HTTP status and error_code, e.g. 429, 500, 502
	RetryAfter  int    // seconds, sent as parameters.retry_after (429)
	Description string // defaults to Telegram's wording for Status
	Body        string // if set, sent verbatim instead of the JSON envelope (a proxy's HTML page)
	Drop        bool   // close the connection without answering
}

// TooManyRequests is Telegram's flood control answer.
func TooManyRequests(retryAfterSeconds int) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfterSeconds}
}

// ServerError is a 5xx answer with Telegram's JSON envelope.
func ServerError(status int) Fault { return Fault{Status: status} }

// DropConnection closes the connection without an answer.
func DropConnection() Fault { return Fault{Drop: true} }

// Inject queues faults for method (case-insensitive, e.g. "sendMessage");
// each of the next requests to it consumes one, in order. Requests with a
// wrong token never consume faults.
func (s *Server) Inject(method string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := strings.ToLower(method)
	s.faults[m] = append(s.faults[m], faults...)
}

// StartOutage makes every request fail with f until EndOutage.
func (s *Server) StartOutage(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = &f
}

// EndOutage ends StartOutage.
func (s *Server) EndOutage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = nil
}

// SetWebhook simulates a webhook being set (true) or deleted: while set,
// getUpdates answers 409 like Telegram does.
func (s *Server) SetWebhook(set bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = set
}

// Calls returns every request so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyCalls(s.calls)
}

// notify wakes WaitFor and long polls. Callers hold s.mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// apiError is an answer with "ok": false.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + fmt.Sprintf(format, args...)}
}

var (
	errNotFound     = &apiError{code: http.StatusNotFound, desc: "Not Found"}
	errUnauthorized = &apiError{code: http.StatusUnauthorized, desc: "Unauthorized"}
)

var pathRE = regexp.MustCompile(`^/bot([^/]*)/([A-Za-z]+)$`)

// tokenRE is the shape of a bot token; other strings are 404 like on Telegram.
var tokenRE = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if m := pathRE.FindStringSubmatch(r.URL.Path); m != nil && m[1] != s.token {
		if b := s.hub.bot(m[1]); b != nil {
			b.serveBot(w, r)
			return
		}
	}
	s.serveBot(w, r)
}

// serveBot answers a request for this bot (or one with a wrong token).
func (s *Server) serveBot(w http.ResponseWriter, r *http.Request) {
	match := pathRE.FindStringSubmatch(r.URL.Path)
	method := ""
	if match != nil {
		method = match[2]
	}

	s.mu.Lock()
	outage := s.outage
	s.mu.Unlock()
	if outage != nil {
		s.fail(w, r, Call{Method: method}, *outage)
		return
	}
	if match == nil {
		s.answer(w, Call{Method: method}, nil, errNotFound)
		return
	}
	if token := match[1]; token != s.token {
		if tokenRE.MatchString(token) {
			s.answer(w, Call{Method: method}, nil, errUnauthorized)
		} else {
			s.answer(w, Call{Method: method}, nil, errNotFound)
		}
		return
	}

	params, files, err := readParams(r)
	call := Call{Method: method, Params: params, Files: files}
	if err != nil {
		s.answer(w, call, nil, badRequest("%v", err))
		return
	}

	s.mu.Lock()
	var fault *Fault
	if q := s.faults[strings.ToLower(method)]; len(q) > 0 {
		fault = &q[0]
		s.faults[strings.ToLower(method)] = q[1:]
	}
	s.mu.Unlock()
	if fault != nil {
		s.fail(w, r, call, *fault)
		return
	}

	var (
		result any
		aerr   *apiError
	)
	switch strings.ToLower(method) {
	case "getme":
		result = apiUser{ID: s.botID, IsBot: true, FirstName: s.firstName, Username: s.username}
	case "sendmessage":
		result, aerr = s.sendMessage(params)
	case "editmessagetext":
		result, aerr = s.editMessageText(params)
	case "editmessagereplymarkup":
		result, aerr = s.editMessageReplyMarkup(params)
	case "deletemessage":
		result, aerr = s.deleteMessage(params)
	case "sendphoto":
		result, aerr = s.sendPhoto(params, files)
	case "deletewebhook":
		result, aerr = s.deleteWebhook(params)
	case "setmycommands":
		result, aerr = s.setMyCommands(params)
	case "deletemycommands":
		result, aerr = s.deleteMyCommands(params)
	case "getmycommands":
		result, aerr = s.getMyCommands(params)
	case "sendchataction":
		result, aerr = s.sendChatAction(params)
	case "getchat":
		result, aerr = s.getChat(params)
	case "answercallbackquery":
		result, aerr = s.answerCallbackQuery(params)
	case "getupdates":
		var gone bool
		result, aerr, gone = s.getUpdates(r, params)
		if gone {
			// The client went away or the server is closing: no answer.
			call.Description = "no answer: the client left or the server closed"
			s.record(call)
			hangUp(w)
			return
		}
	default:
		aerr = errNotFound
	}
	s.answer(w, call, result, aerr)
}

type envelope struct {
	OK          bool        `json:"ok"`
	Result      any         `json:"result,omitempty"`
	ErrorCode   int         `json:"error_code,omitempty"`
	Description string      `json:"description,omitempty"`
	Parameters  *parameters `json:"parameters,omitempty"`
}

type parameters struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

// answer writes the envelope and records the call.
func (s *Server) answer(w http.ResponseWriter, call Call, result any, aerr *apiError) {
	env := envelope{OK: true, Result: result}
	call.Status = http.StatusOK
	if aerr != nil {
		env = envelope{ErrorCode: aerr.code, Description: aerr.desc}
		if aerr.retryAfter > 0 {
			env.Parameters = &parameters{RetryAfter: aerr.retryAfter}
		}
		call.Status, call.Description = aerr.code, aerr.desc
	}
	body, err := json.Marshal(env)
	if err != nil {
		panic(fmt.Sprintf("telegramtest: encode answer: %v", err)) // a bug in the fake
	}
	s.record(call)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(call.Status)
	_, _ = w.Write(body)
}

func (s *Server) record(call Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
	s.notify()
}

// fail answers with a fault.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, call Call, f Fault) {
	call.Fault = true
	if f.Drop {
		_, _ = io.Copy(io.Discard, r.Body)
		s.record(call)
		hangUp(w)
		return
	}
	desc := f.Description
	if desc == "" {
		switch {
		case f.Status == http.StatusTooManyRequests:
			desc = fmt.Sprintf("Too Many Requests: retry after %d", f.RetryAfter)
		default:
			desc = http.StatusText(f.Status)
		}
	}
	if f.Body == "" {
		call.Status, call.Description = f.Status, desc
		s.answer(w, call, nil, &apiError{code: f.Status, desc: desc, retryAfter: f.RetryAfter})
		return
	}
	call.Status, call.Description = f.Status, desc
	s.record(call)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
}

// readParams reads the query string and a form-encoded, multipart or JSON
// body, like the Bot API does.
func readParams(r *http.Request) (map[string]string, map[string][]byte, error) {
	params := make(map[string]string)
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	var files map[string][]byte
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return params, nil, fmt.Errorf("can't read the request: %v", err)
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return params, nil, fmt.Errorf("can't parse the request: %v", err)
		}
		for k, v := range form {
			params[k] = v[0]
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return params, nil, fmt.Errorf("can't parse the request: %v", err)
		}
		for k, v := range r.MultipartForm.Value {
			params[k] = v[0]
		}
		for k, fhs := range r.MultipartForm.File {
			f, err := fhs[0].Open()
			if err != nil {
				return params, nil, fmt.Errorf("can't read file %q: %v", k, err)
			}
			b, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return params, nil, fmt.Errorf("can't read file %q: %v", k, err)
			}
			if files == nil {
				files = make(map[string][]byte)
			}
			files[k] = b
		}
	case "application/json":
		var obj map[string]json.RawMessage
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return params, nil, fmt.Errorf("can't parse JSON object: %v", err)
		}
		for k, raw := range obj {
			var v any
			d := json.NewDecoder(strings.NewReader(string(raw)))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				return params, nil, fmt.Errorf("can't parse JSON object: %v", err)
			}
			switch v := v.(type) {
			case nil:
			case string:
				params[k] = v
			case json.Number:
				params[k] = v.String()
			case bool:
				params[k] = fmt.Sprint(v)
			default:
				params[k] = string(raw) // objects and arrays stay JSON, like reply_markup in a form
			}
		}
	}
	return params, files, nil
}

func copyCalls(in []Call) []Call {
	out := make([]Call, len(in))
	for i, c := range in {
		out[i] = c
		out[i].Params = make(map[string]string, len(c.Params))
		for k, v := range c.Params {
			out[i].Params[k] = v
		}
		if c.Files != nil {
			out[i].Files = make(map[string][]byte, len(c.Files))
			for k, v := range c.Files {
				out[i].Files[k] = append([]byte(nil), v...)
			}
		}
	}
	return out
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("telegramtest: the response writer cannot be hijacked") // httptest's can
	}
	if conn, _, err := hj.Hijack(); err == nil {
		_ = conn.Close()
	}
}
