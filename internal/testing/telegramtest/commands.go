package telegramtest

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"
)

// BotCommand is one entry of the bot's command menu (setMyCommands).
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

// Telegram's limits on the command menu.
const (
	maxCommands          = 100
	maxCommandDescLength = 256
)

var commandRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// chatActions are the actions sendChatAction accepts.
var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

// menuKey names a command menu by its scope and language, as Telegram
// keeps one menu per pair. The default scope is "default".
func menuKey(p map[string]string) (string, *apiError) {
	scope := "default"
	if raw := p["scope"]; raw != "" {
		var sc struct {
			Type   string          `json:"type"`
			ChatID json.RawMessage `json:"chat_id"`
			UserID int64           `json:"user_id"`
		}
		if err := json.Unmarshal([]byte(raw), &sc); err != nil || sc.Type == "" {
			return "", badRequest("can't parse BotCommandScope JSON object")
		}
		switch sc.Type {
		case "default", "all_private_chats", "all_group_chats", "all_chat_administrators":
			scope = sc.Type
		case "chat", "chat_administrators", "chat_member":
			scope = sc.Type + ":" + string(sc.ChatID)
		default:
			return "", badRequest("wrong BotCommandScope type specified")
		}
	}
	if lang := p["language_code"]; lang != "" {
		scope += "/" + lang
	}
	return scope, nil
}

func (s *Server) setMyCommands(p map[string]string) (any, *apiError) {
	key, aerr := menuKey(p)
	if aerr != nil {
		return nil, aerr
	}
	var cmds []BotCommand
	if err := json.Unmarshal([]byte(p["commands"]), &cmds); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	if len(cmds) > maxCommands {
		return nil, badRequest("BOT_COMMANDS_TOO_MUCH")
	}
	for _, c := range cmds {
		if !commandRE.MatchString(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := utf8.RuneCountInString(strings.TrimSpace(c.Description)); n == 0 || n > maxCommandDescLength {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(cmds) == 0 {
		delete(s.menus, key)
	} else {
		s.menus[key] = cmds
	}
	s.notify()
	return true, nil
}

func (s *Server) deleteMyCommands(p map[string]string) (any, *apiError) {
	key, aerr := menuKey(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.menus, key)
	s.notify()
	return true, nil
}

func (s *Server) getMyCommands(p map[string]string) (any, *apiError) {
	key, aerr := menuKey(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BotCommand{}, s.menus[key]...), nil
}

// Commands returns the command menu of a scope ("default",
// "all_private_chats", "all_group_chats", ...; add "/<language>" for a
// language's own menu) as the bot last set it.
func (s *Server) Commands(scope string) []BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BotCommand(nil), s.menus[scope]...)
}

func (s *Server) deleteWebhook(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = false
	if p["drop_pending_updates"] == "true" {
		s.updates = nil
	}
	s.notify()
	return true, nil
}

func (s *Server) sendChatAction(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, aerr := s.chatFor(p); aerr != nil {
		return nil, aerr
	}
	if !chatActions[p["action"]] {
		return nil, badRequest("wrong parameter action in request")
	}
	return true, nil
}
