package telegramtest

import "strconv"

// chatInfo is the part of Telegram's ChatFullInfo the fake answers with.
type chatInfo struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	FirstName string `json:"first_name,omitempty"`
	Username  string `json:"username,omitempty"`
	Title     string `json:"title,omitempty"`
}

// getChat answers for chats the bot knows (AddChat, PushUpdate) and, like
// Telegram, 400 "chat not found" for a person who never wrote to the bot.
// A chat whose person blocked the bot is still found: getChat sends
// nothing.
func (s *Server) getChat(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw := p["chat_id"]
	if raw == "" {
		return nil, badRequest("chat_id is empty")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || s.chats[id] == nil {
		return nil, badRequest("chat not found")
	}
	if id > 0 {
		name := "user" + raw
		return chatInfo{ID: id, Type: "private", FirstName: name, Username: name}, nil
	}
	return chatInfo{ID: id, Type: "group", Title: "group " + raw}, nil
}
