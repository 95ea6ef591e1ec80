package telegramtest

import (
	"net/url"
	"strings"
	"testing"
)

// The calls a channel makes at start (OpenClaw's grammy-based Telegram
// channel: deleteWebhook, deleteMyCommands, setMyCommands per scope,
// sendChatAction while it works) get Telegram's answers.
func TestCommandMenu(t *testing.T) {
	s := New(t)
	s.AddChat(42)
	menu := `[{"command":"auth","description":"Sign in: /auth [profile]"},{"command":"logout","description":"Sign out"}]`
	tests := []struct {
		name, method string
		form         url.Values
		status       int
		desc         string
	}{
		{"set the default menu", "setMyCommands", url.Values{"commands": {menu}}, 200, ""},
		{"set a scope's menu", "setMyCommands", url.Values{"commands": {`[{"command":"help","description":"Help"}]`}, "scope": {`{"type":"all_group_chats"}`}}, 200, ""},
		{"upper case command", "setMyCommands", url.Values{"commands": {`[{"command":"Auth","description":"x"}]`}}, 400, "Bad Request: BOT_COMMAND_INVALID"},
		{"command too long", "setMyCommands", url.Values{"commands": {`[{"command":"` + strings.Repeat("a", 33) + `","description":"x"}]`}}, 400, "Bad Request: BOT_COMMAND_INVALID"},
		{"empty description", "setMyCommands", url.Values{"commands": {`[{"command":"a","description":" "}]`}}, 400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"},
		{"not JSON", "setMyCommands", url.Values{"commands": {`auth`}}, 400, "Bad Request: can't parse commands JSON object"},
		{"unknown scope", "setMyCommands", url.Values{"commands": {menu}, "scope": {`{"type":"everyone"}`}}, 400, "Bad Request: wrong BotCommandScope type specified"},
		{"delete the group menu", "deleteMyCommands", url.Values{"scope": {`{"type":"all_group_chats"}`}}, 200, ""},
		{"delete the webhook", "deleteWebhook", url.Values{"drop_pending_updates": {"false"}}, 200, ""},
		{"typing", "sendChatAction", url.Values{"chat_id": {"42"}, "action": {"typing"}}, 200, ""},
		{"unknown action", "sendChatAction", url.Values{"chat_id": {"42"}, "action": {"dancing"}}, 400, "Bad Request: wrong parameter action in request"},
		{"unknown chat", "sendChatAction", url.Values{"chat_id": {"43"}, "action": {"typing"}}, 400, "Bad Request: chat not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, s, tt.method, tt.form)
			if r.status != tt.status || r.Description != tt.desc {
				t.Fatalf("%s: %d %q, want %d %q", tt.method, r.status, r.Description, tt.status, tt.desc)
			}
			if tt.status == 200 && string(r.Result) != "true" {
				t.Errorf("result %s, want true", r.Result)
			}
		})
	}
	got := s.Commands("default")
	if len(got) != 2 || got[0].Command != "auth" || got[1].Description != "Sign out" {
		t.Errorf("default menu %+v", got)
	}
	if got := s.Commands("all_group_chats"); len(got) != 0 {
		t.Errorf("the deleted group menu is %+v", got)
	}
	r := post(t, s, "getMyCommands", nil)
	if !strings.Contains(string(r.Result), `"command":"logout"`) {
		t.Errorf("getMyCommands: %s", r.Result)
	}
}

// deleteWebhook ends the 409 that getUpdates gets while a webhook is set.
func TestDeleteWebhook(t *testing.T) {
	s := New(t)
	s.SetWebhook(true)
	if r := post(t, s, "getUpdates", url.Values{"timeout": {"0"}}); r.status != 409 {
		t.Fatalf("getUpdates with a webhook: %d", r.status)
	}
	post(t, s, "deleteWebhook", nil)
	if r := post(t, s, "getUpdates", url.Values{"timeout": {"0"}}); r.status != 200 {
		t.Fatalf("getUpdates after deleteWebhook: %d %s", r.status, r.Description)
	}
}
