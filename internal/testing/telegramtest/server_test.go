package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reply is the Bot API envelope as a client reads it.
type reply struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
	status int
}

func post(t *testing.T, s *Server, method string, form url.Values) reply {
	t.Helper()
	return postTo(t, s.URL()+"/bot"+s.Token()+"/"+method, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

func postTo(t *testing.T, u, contentType string, body io.Reader) reply {
	t.Helper()
	r, err := doPost(u, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// doPost is postTo for goroutines, which must not call t.Fatal.
func doPost(u, contentType string, body io.Reader) (reply, error) {
	resp, err := http.Post(u, contentType, body)
	if err != nil {
		return reply{}, fmt.Errorf("POST: %v", err)
	}
	defer resp.Body.Close()
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return reply{}, fmt.Errorf("decode answer: %v", err)
	}
	r.status = resp.StatusCode
	if !r.OK && r.status != r.ErrorCode {
		return reply{}, fmt.Errorf("HTTP status %d but error_code %d", r.status, r.ErrorCode)
	}
	return r, nil
}

type result struct {
	r   reply
	err error
}

// pollAsync starts a getUpdates request in the background.
func pollAsync(s *Server, form url.Values) <-chan result {
	ch := make(chan result, 1)
	go func() {
		r, err := doPost(s.URL()+"/bot"+s.Token()+"/getUpdates", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		ch <- result{r, err}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result) reply {
	t.Helper()
	res := <-ch
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.r
}

func wantError(t *testing.T, r reply, code int, desc string) {
	t.Helper()
	if r.OK || r.ErrorCode != code || r.Description != desc {
		t.Fatalf("answer = ok %v, %d %q; want %d %q", r.OK, r.ErrorCode, r.Description, code, desc)
	}
}

func send(t *testing.T, s *Server, chat, text, markup string) reply {
	t.Helper()
	v := url.Values{"chat_id": {chat}, "text": {text}, "parse_mode": {"MarkdownV2"}}
	if markup != "" {
		v.Set("reply_markup", markup)
	}
	return post(t, s, "sendMessage", v)
}

func messageIDOf(t *testing.T, r reply) int {
	t.Helper()
	var m struct {
		MessageID int `json:"message_id"`
	}
	if !r.OK {
		t.Fatalf("not ok: %d %s", r.ErrorCode, r.Description)
	}
	if err := json.Unmarshal(r.Result, &m); err != nil {
		t.Fatal(err)
	}
	return m.MessageID
}

func TestAuthAndRouting(t *testing.T) {
	s := New(t)
	tests := []struct {
		name, path string
		code       int
		desc       string
	}{
		{"wrong token", "/bot123:wrong/getMe", 401, "Unauthorized"},
		{"malformed token", "/botnot-a-token/getMe", 404, "Not Found"},
		{"no bot prefix", "/getMe", 404, "Not Found"},
		{"unknown method", "/bot" + DefaultToken + "/sendDice2", 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postTo(t, s.URL()+tt.path, "application/x-www-form-urlencoded", nil)
			wantError(t, r, tt.code, tt.desc)
		})
	}
	r := post(t, s, "GETME", nil) // method names are case-insensitive
	if !r.OK || !strings.Contains(string(r.Result), BotUsername) {
		t.Fatalf("getMe = %+v", r)
	}
}

func TestSendMessageErrors(t *testing.T) {
	s := New(t)
	s.AddChat(42)
	long := strings.Repeat("a", MaxTextLen+1)
	tests := []struct {
		name, chat, text, markup string
		desc                     string
	}{
		{"unknown chat", "43", "hi", "", "Bad Request: chat not found"},
		{"no chat", "", "hi", "", "Bad Request: chat_id is empty"},
		{"empty text", "42", "", "", "Bad Request: message text is empty"},
		{"only white space", "42", " \n ", "", "Bad Request: message text is empty"},
		{"bad markdown", "42", "Sign in.", "", "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"},
		{"too long", "42", long, "", "Bad Request: message is too long"},
		{"localhost button", "42", "hi", `{"inline_keyboard":[[{"text":"Open","url":"http://localhost:8080/device"}]]}`,
			"Bad Request: inline keyboard button URL 'http://localhost:8080/device' is invalid: Wrong HTTP URL"},
		{"ftp button", "42", "hi", `{"inline_keyboard":[[{"text":"Open","url":"ftp://example.com/x"}]]}`,
			"Bad Request: inline keyboard button URL 'ftp://example.com/x' is invalid: Wrong HTTP URL"},
		{"bad markup JSON", "42", "hi", `{"inline_keyboard":`, "Bad Request: can't parse reply keyboard markup JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, send(t, s, tt.chat, tt.text, tt.markup), 400, tt.desc)
		})
	}
	if got := s.Chat(42); len(got) != 0 {
		t.Fatalf("refused messages reached the chat: %+v", got)
	}

	// Exactly the limit is fine, counted after parsing: escapes don't count.
	if r := send(t, s, "42", strings.Repeat(`\.`, MaxTextLen), ""); !r.OK {
		t.Fatalf("4096 escaped dots: %s", r.Description)
	}
	// HTML mode.
	r := post(t, s, "sendMessage", url.Values{"chat_id": {"42"}, "text": {"a <p>b</p>"}, "parse_mode": {"HTML"}})
	wantError(t, r, 400, `Bad Request: can't parse entities: Unsupported start tag "p" at byte offset 2`)
	r = post(t, s, "sendMessage", url.Values{"chat_id": {"42"}, "text": {"hi"}, "parse_mode": {"Markdown3"}})
	wantError(t, r, 400, "Bad Request: unsupported parse_mode")

	s.BlockChat(42, true)
	wantError(t, send(t, s, "42", "hi", ""), 403, "Forbidden: bot was blocked by the user")
}

func TestChatRecordsWhatThePersonSees(t *testing.T) {
	s := New(t)
	s.AddChat(42)
	markup := `{"inline_keyboard":[[{"text":"Open","url":"https://example.com/device"}]]}`
	id := messageIDOf(t, send(t, s, "42", "  *Code:* `WDJB\\-MJHT`\n\n", markup))

	got := s.Chat(42)
	if len(got) != 1 {
		t.Fatalf("chat has %d messages, want 1", len(got))
	}
	m := got[0]
	if m.ID != id || !m.FromBot || m.Text != "Code: WDJB-MJHT" || m.Raw != "  *Code:* `WDJB\\-MJHT`\n\n" {
		t.Fatalf("message = %+v", m)
	}
	wantEnts := []Entity{ent("bold", 0, 5), ent("code", 6, 9)}
	if len(m.Entities) != 2 || m.Entities[0] != wantEnts[0] || m.Entities[1] != wantEnts[1] {
		t.Fatalf("entities = %+v, want %+v (shifted by the trimmed spaces)", m.Entities, wantEnts)
	}
	if links := m.Links(); len(links) != 1 || links[0] != "https://example.com/device" {
		t.Fatalf("links = %v", links)
	}

	// Editing to the same content is refused; the parsed content is compared.
	r := post(t, s, "editMessageText", url.Values{"chat_id": {"42"}, "message_id": {"1"}, "text": {"*Code:* `WDJB-MJHT`"}, "parse_mode": {"MarkdownV2"}, "reply_markup": {markup}})
	wantError(t, r, 400, "Bad Request: "+notModified)

	// An edit without reply_markup removes the keyboard.
	r = post(t, s, "editMessageText", url.Values{"chat_id": {"42"}, "message_id": {"1"}, "text": {"Signed in\\."}, "parse_mode": {"MarkdownV2"}})
	if !r.OK {
		t.Fatalf("edit: %s", r.Description)
	}
	m = s.Chat(42)[0]
	if m.Text != "Signed in." || m.Buttons != nil || m.Edits != 1 || len(m.History) != 1 || m.History[0].Text != "Code: WDJB-MJHT" || len(m.History[0].Buttons) != 1 {
		t.Fatalf("after edit: %+v", m)
	}

	r = post(t, s, "editMessageReplyMarkup", url.Values{"chat_id": {"42"}, "message_id": {"1"}})
	wantError(t, r, 400, "Bad Request: "+notModified)
	r = post(t, s, "editMessageText", url.Values{"chat_id": {"42"}, "message_id": {"9"}, "text": {"x"}})
	wantError(t, r, 400, "Bad Request: message to edit not found")

	r = post(t, s, "deleteMessage", url.Values{"chat_id": {"42"}, "message_id": {"1"}})
	if !r.OK || string(r.Result) != "true" {
		t.Fatalf("delete = %+v", r)
	}
	if !s.Chat(42)[0].Deleted {
		t.Fatal("message not marked deleted")
	}
	r = post(t, s, "deleteMessage", url.Values{"chat_id": {"42"}, "message_id": {"1"}})
	wantError(t, r, 400, "Bad Request: message to delete not found")
	r = post(t, s, "editMessageText", url.Values{"chat_id": {"42"}, "message_id": {"1"}, "text": {"x"}})
	wantError(t, r, 400, "Bad Request: message to edit not found")

	// The person's own messages can't be edited by the bot.
	s.PushUpdate(42, 42, "/auth")
	r = post(t, s, "editMessageText", url.Values{"chat_id": {"42"}, "message_id": {"2"}, "text": {"x"}})
	wantError(t, r, 400, "Bad Request: message can't be edited")

	for _, c := range s.Calls() {
		for k, v := range c.Params {
			if strings.Contains(k+v, DefaultToken) {
				t.Fatalf("call %s records the token", c.Method)
			}
		}
	}
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSendPhotoMultipartAndJSON(t *testing.T) {
	s := New(t)
	s.AddChat(42)
	photo := pngBytes(t)

	multipartBody := func(field string, data []byte, caption string) (*bytes.Buffer, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.WriteField("chat_id", "42")
		_ = w.WriteField("caption", caption)
		_ = w.WriteField("parse_mode", "MarkdownV2")
		fw, _ := w.CreateFormFile(field, "qr.png")
		_, _ = fw.Write(data)
		_ = w.Close()
		return &b, w.FormDataContentType()
	}
	u := s.URL() + "/bot" + s.Token() + "/sendPhoto"

	body, ct := multipartBody("photo", photo, "Scan *me*")
	r := postTo(t, u, ct, body)
	if !r.OK {
		t.Fatalf("sendPhoto: %s", r.Description)
	}
	if !strings.Contains(string(r.Result), `"width":3`) || !strings.Contains(string(r.Result), `"caption":"Scan me"`) {
		t.Fatalf("result = %s", r.Result)
	}
	m := s.Chat(42)[0]
	if !bytes.Equal(m.Photo, photo) || m.Text != "Scan me" {
		t.Fatalf("photo message = %+v", m)
	}

	body, ct = multipartBody("photo", []byte("not an image"), "x")
	wantError(t, postTo(t, u, ct, body), 400, "Bad Request: IMAGE_PROCESS_FAILED")
	body, ct = multipartBody("document", photo, "x")
	wantError(t, postTo(t, u, ct, body), 400, "Bad Request: there is no photo in the request")
	body, ct = multipartBody("photo", photo, strings.Repeat("a", MaxCaptionLen+1))
	wantError(t, postTo(t, u, ct, body), 400, "Bad Request: message caption is too long")

	// JSON bodies work like forms, reply_markup as an object.
	js := `{"chat_id":42,"text":"json","reply_markup":{"inline_keyboard":[[{"text":"Go","url":"https://example.com"}]]}}`
	r = postTo(t, s.URL()+"/bot"+s.Token()+"/sendMessage", "application/json", strings.NewReader(js))
	if !r.OK {
		t.Fatalf("JSON sendMessage: %s", r.Description)
	}
	if m := s.Chat(42)[1]; m.Text != "json" || len(m.Buttons) != 1 || m.Buttons[0][0].URL != "https://example.com" {
		t.Fatalf("JSON message = %+v", m)
	}
}

func TestFaults(t *testing.T) {
	s := New(t)
	s.AddChat(42)
	s.Inject("sendMessage", TooManyRequests(7), ServerError(502), Fault{Status: 502, Body: "<html>bad gateway</html>"})

	r := send(t, s, "42", "a", "")
	wantError(t, r, 429, "Too Many Requests: retry after 7")
	if r.Parameters.RetryAfter != 7 {
		t.Fatalf("retry_after = %d", r.Parameters.RetryAfter)
	}
	wantError(t, send(t, s, "42", "a", ""), 502, "Bad Gateway")

	resp, err := http.Post(s.URL()+"/bot"+s.Token()+"/sendMessage", "application/x-www-form-urlencoded", strings.NewReader("chat_id=42&text=a"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || string(b) != "<html>bad gateway</html>" {
		t.Fatalf("raw fault = %d %q", resp.StatusCode, b)
	}
	if r := send(t, s, "42", "a", ""); !r.OK {
		t.Fatalf("faults not consumed: %s", r.Description)
	}

	s.Inject("getMe", DropConnection())
	if _, err := http.Post(s.URL()+"/bot"+s.Token()+"/getMe", "text/plain", nil); err == nil {
		t.Fatal("dropped connection: no error")
	}

	s.StartOutage(ServerError(500))
	wantError(t, post(t, s, "getMe", nil), 500, "Internal Server Error")
	wantError(t, postTo(t, s.URL()+"/nowhere", "text/plain", nil), 500, "Internal Server Error")
	s.EndOutage()
	if r := post(t, s, "getMe", nil); !r.OK {
		t.Fatal("outage did not end")
	}

	var faulted int
	for _, c := range s.Calls() {
		if c.Fault {
			faulted++
		}
	}
	if faulted != 6 {
		t.Fatalf("%d faulted calls recorded, want 6", faulted)
	}
}

func TestGetUpdates(t *testing.T) {
	s := New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	first := s.PushUpdate(42, 42, "/auth now")
	s.PushUpdate(42, 42, "hello")

	r := post(t, s, "getUpdates", url.Values{"limit": {"1"}})
	var ups []struct {
		UpdateID int `json:"update_id"`
		Message  struct {
			Text     string `json:"text"`
			Entities []struct {
				Type string `json:"type"`
			} `json:"entities"`
			From struct {
				Username string `json:"username"`
			} `json:"from"`
		} `json:"message"`
	}
	if err := json.Unmarshal(r.Result, &ups); err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 || ups[0].UpdateID != first || ups[0].Message.Text != "/auth now" || ups[0].Message.Entities[0].Type != "bot_command" || ups[0].Message.From.Username != "user42" {
		t.Fatalf("updates = %+v", ups)
	}
	// Without offset nothing is confirmed.
	r = post(t, s, "getUpdates", nil)
	if err := json.Unmarshal(r.Result, &ups); err != nil || len(ups) != 2 {
		t.Fatalf("updates = %+v, %v", ups, err)
	}
	// offset confirms; a long poll then waits for the next update.
	done := pollAsync(s, url.Values{"offset": {strconv.Itoa(first + 2)}, "timeout": {"30"}})
	if err := s.WaitFor(ctx, func(v View) bool { return v.Polling && v.PendingUpdates == 0 }); err != nil {
		t.Fatal(err)
	}
	third := s.PushUpdate(42, 42, "third")
	r = await(t, done)
	if err := json.Unmarshal(r.Result, &ups); err != nil || len(ups) != 1 || ups[0].UpdateID != third {
		t.Fatalf("long poll = %+v, %v", ups, err)
	}

	// A second poller ends the first with 409.
	done = pollAsync(s, url.Values{"offset": {strconv.Itoa(third + 1)}, "timeout": {"30"}})
	if err := s.WaitFor(ctx, func(v View) bool { return v.Polling }); err != nil {
		t.Fatal(err)
	}
	if r := post(t, s, "getUpdates", url.Values{"offset": {strconv.Itoa(third + 1)}}); !r.OK {
		t.Fatalf("second poller: %s", r.Description)
	}
	wantError(t, await(t, done), 409, conflictPolling)

	done = pollAsync(s, url.Values{"timeout": {"30"}})
	if err := s.WaitFor(ctx, func(v View) bool { return v.Polling }); err != nil {
		t.Fatal(err)
	}
	s.CompetingPoll()
	wantError(t, await(t, done), 409, conflictPolling)

	s.SetWebhook(true)
	wantError(t, post(t, s, "getUpdates", nil), 409, conflictWebhook)
}

func TestWaitForHonoursContext(t *testing.T) {
	s := New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.WaitFor(ctx, func(View) bool { return false })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor = %v, want context.Canceled", err)
	}
}
