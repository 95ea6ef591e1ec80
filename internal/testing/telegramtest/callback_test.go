package telegramtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

const gateToken = "5151515151:AAGatekeeperTokenForTelegramtest_987"

// Two bots on one server are two separate worlds: what one sends appears
// only in its own chats, each answers getMe as itself, and polling one
// does not conflict with polling the other.
func TestTwoBots(t *testing.T) {
	agent := New(t)
	gate := agent.AddBot(gateToken, "devicegate_gate_bot", "Gatekeeper")
	if gate.URL() != agent.URL() || gate.Token() == agent.Token() || gate.BotID() != 5151515151 {
		t.Fatalf("second bot: url %v, id %d", gate.URL(), gate.BotID())
	}
	agent.AddChat(42)
	gate.AddChat(42)

	var me apiUser
	json.Unmarshal(post(t, gate, "getMe", nil).Result, &me)
	if me.ID != 5151515151 || me.Username != "devicegate_gate_bot" {
		t.Errorf("getMe of the gatekeeper = %+v", me)
	}

	// The agent's bot cannot post in the gatekeeper's chat: its token
	// reaches only its own.
	send(t, agent, "42", "Sign in with code ABCD", "")
	if got := gate.Chat(42); len(got) != 0 {
		t.Errorf("a message of the agent's bot appeared in the gatekeeper chat: %+v", got)
	}
	if got := agent.Chat(42); len(got) != 1 || got[0].FromID != BotID {
		t.Errorf("agent chat = %+v", got)
	}
	r := send(t, gate, "42", "hello", "")
	var m apiMessage
	json.Unmarshal(r.Result, &m)
	if m.From == nil || m.From.ID != 5151515151 {
		t.Errorf("the gatekeeper's message is from %+v", m.From)
	}

	// Polling one bot does not end the other's long poll.
	gp := pollAsync(gate, url.Values{"timeout": {"5"}})
	waitPolling(t, gate)
	post(t, agent, "getUpdates", url.Values{"timeout": {"0"}})
	gate.PushUpdate(42, 42, "/logout")
	if r := await(t, gp); !r.OK || !strings.Contains(string(r.Result), "/logout") {
		t.Errorf("gatekeeper poll = ok %v %s (%s)", r.OK, r.Result, r.Description)
	}
	if len(agent.Calls()) == 0 || len(gate.Calls()) == 0 {
		t.Error("calls are not recorded per bot")
	}
	for _, c := range gate.Calls() {
		if c.Method == "sendMessage" && c.Params["text"] == "Sign in with code ABCD" {
			t.Error("the agent's call is recorded on the gatekeeper")
		}
	}
}

func waitPolling(t *testing.T, s *Server) {
	t.Helper()
	if err := s.WaitFor(t.Context(), func(v View) bool { return v.Polling }); err != nil {
		t.Fatal(err)
	}
}

const keyboardJSON = `{"inline_keyboard":[[{"text":"Allow once","callback_data":"ap1:0123456789abcdef:o"},{"text":"Deny","callback_data":"ap1:0123456789abcdef:d"}],[{"text":"Docs","url":"https://example.com/x"}]]}`

func TestTapAndAnswer(t *testing.T) {
	s := New(t)
	s.AddChat(42)
	id := messageIDOf(t, send(t, s, "42", "May the agent send mail?", keyboardJSON))

	// Only buttons that are there can be tapped.
	for _, data := range []string{"ap1:0123456789abcdef:h", "https://example.com/x", ""} {
		if _, err := s.Tap(42, 42, id, data); err == nil {
			t.Errorf("Tap(%q) on a message without that button succeeded", data)
		}
	}
	if _, err := s.Tap(42, 42, id+1, "ap1:0123456789abcdef:o"); err == nil {
		t.Error("Tap on a missing message succeeded")
	}
	if _, _, err := s.TapButton(42, 42, "Allow for 1 hour"); err == nil {
		t.Error("TapButton on a missing label succeeded")
	}

	qid, mid, err := s.TapButton(42, 7, "Deny") // a stranger in a group
	if err != nil || mid != id {
		t.Fatalf("TapButton = %q, %d, %v", qid, mid, err)
	}
	r := post(t, s, "getUpdates", url.Values{"timeout": {"0"}})
	var ups []update
	json.Unmarshal(r.Result, &ups)
	if len(ups) != 1 || ups[0].CallbackQuery == nil {
		t.Fatalf("updates = %s", r.Result)
	}
	q := ups[0].CallbackQuery
	if q.ID != qid || q.From.ID != 7 || q.Data != "ap1:0123456789abcdef:d" || q.Message == nil || q.Message.MessageID != id || q.Message.ReplyMarkup == nil {
		t.Errorf("callback query = %+v", q)
	}

	// Unanswered until answered; answered once only.
	if cb := s.Callbacks(); len(cb) != 1 || cb[0].Answered {
		t.Fatalf("callbacks = %+v", cb)
	}
	wantError(t, post(t, s, "answerCallbackQuery", url.Values{}), http.StatusBadRequest, "Bad Request: query_id is empty")
	wantError(t, post(t, s, "answerCallbackQuery", url.Values{"callback_query_id": {"nope"}}), http.StatusBadRequest, errQueryInvalid.desc)
	wantError(t, post(t, s, "answerCallbackQuery", url.Values{"callback_query_id": {qid}, "text": {strings.Repeat("x", 201)}}), http.StatusBadRequest, "Bad Request: MESSAGE_TOO_LONG")
	if r := post(t, s, "answerCallbackQuery", url.Values{"callback_query_id": {qid}, "text": {"Only the owner decides."}}); !r.OK {
		t.Fatalf("answer: %s", r.Description)
	}
	wantError(t, post(t, s, "answerCallbackQuery", url.Values{"callback_query_id": {qid}}), http.StatusBadRequest, errQueryInvalid.desc)
	if cb := s.Snapshot().Callbacks; len(cb) != 1 || !cb[0].Answered || cb[0].Text != "Only the owner decides." {
		t.Errorf("callbacks = %+v", cb)
	}

	// After the buttons are edited away, they cannot be tapped.
	if r := post(t, s, "editMessageText", url.Values{"chat_id": {"42"}, "message_id": {itoa(id)}, "text": {"Denied"}}); !r.OK {
		t.Fatalf("edit: %s", r.Description)
	}
	if _, err := s.Tap(42, 42, id, "ap1:0123456789abcdef:o"); err == nil {
		t.Error("a removed button was tapped")
	}
}

func TestAllowedUpdates(t *testing.T) {
	s := New(t)
	s.AddChat(42)
	id := messageIDOf(t, send(t, s, "42", "Approve?", keyboardJSON))
	s.PushUpdate(42, 42, "/status")
	s.Tap(42, 42, id, "ap1:0123456789abcdef:o")

	// Asking for messages only: the tap is not delivered, and not kept.
	r := post(t, s, "getUpdates", url.Values{"timeout": {"0"}, "allowed_updates": {`["message"]`}})
	var ups []update
	json.Unmarshal(r.Result, &ups)
	if len(ups) != 1 || ups[0].Message == nil {
		t.Fatalf("updates = %s", r.Result)
	}
	s.Tap(42, 42, id, "ap1:0123456789abcdef:o")
	// The setting stays without allowed_updates; [] means everything.
	r = post(t, s, "getUpdates", url.Values{"timeout": {"0"}, "offset": {itoa(ups[0].ID + 1)}})
	if strings.Contains(string(r.Result), "callback_query") {
		t.Errorf("a tap was delivered to a poller that asked for messages only: %s", r.Result)
	}
	s.Tap(42, 42, id, "ap1:0123456789abcdef:o")
	r = post(t, s, "getUpdates", url.Values{"timeout": {"0"}, "allowed_updates": {`[]`}})
	if !strings.Contains(string(r.Result), "callback_query") {
		t.Errorf("allowed_updates [] did not deliver the tap: %s", r.Result)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
