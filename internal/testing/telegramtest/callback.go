package telegramtest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CallbackQuery is a tap on an inline button, as the fake recorded it.
type CallbackQuery struct {
	ID        string
	ChatID    int64
	FromID    int64 // who tapped
	MessageID int   // the message the button is on
	Data      string
	// Answered is set by answerCallbackQuery, with what it said.
	Answered  bool
	Text      string
	ShowAlert bool
}

type callback struct {
	CallbackQuery
	update int
}

type apiCallbackQuery struct {
	ID           string      `json:"id"`
	From         apiUser     `json:"from"`
	Message      *apiMessage `json:"message,omitempty"`
	ChatInstance string      `json:"chat_instance"`
	Data         string      `json:"data,omitempty"`
}

// errQueryInvalid is Telegram's answer to answering a callback query that
// does not exist, was answered already, or is too old.
var errQueryInvalid = badRequest("query is too old and response timeout expired or query ID is invalid")

// maxCallbackText is the limit of answerCallbackQuery's text.
const maxCallbackText = 200

// Tap simulates the person fromID tapping the inline button with
// callback data data on message messageID of the bot in chatID: a
// callback_query update is queued, and its id returned. Like in the app,
// only a button that is on the message now can be tapped; a message of
// the person, a deleted one or a button that is gone is an error.
func (s *Server) Tap(chatID, fromID int64, messageID int, data string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return "", fmt.Errorf("telegramtest: Tap: no chat %d", chatID)
	}
	m := c.find(messageID)
	if m == nil || !m.FromBot {
		return "", fmt.Errorf("telegramtest: Tap: no message %d of the bot in chat %d", messageID, chatID)
	}
	found := false
	for _, row := range m.Buttons {
		for _, b := range row {
			found = found || (b.CallbackData == data && b.URL == "")
		}
	}
	if !found {
		return "", fmt.Errorf("telegramtest: Tap: message %d has no button with callback data %q", messageID, data)
	}
	id := strconv.FormatInt(s.botID, 10) + strconv.Itoa(s.nextCallback)
	s.nextCallback++
	uid := s.nextUpdateID
	s.nextUpdateID++
	s.callbacks[id] = &callback{CallbackQuery: CallbackQuery{ID: id, ChatID: chatID, FromID: fromID, MessageID: messageID, Data: data}, update: uid}
	s.updates = append(s.updates, update{ID: uid, CallbackQuery: &apiCallbackQuery{
		ID:           id,
		From:         apiUser{ID: fromID, FirstName: "User", Username: userName(fromID)},
		Message:      s.apiMessage(c, m),
		ChatInstance: strconv.FormatInt(chatID*31+s.botID, 10),
		Data:         data,
	}})
	s.notify()
	return id, nil
}

// TapButton taps the button labelled label on the newest message of the
// bot in chatID that has one, as the person fromID. It returns the
// callback query's id and the message's id.
func (s *Server) TapButton(chatID, fromID int64, label string) (queryID string, messageID int, err error) {
	s.mu.Lock()
	var data string
	if c := s.chats[chatID]; c != nil {
	search:
		for i := len(c.msgs) - 1; i >= 0; i-- {
			m := c.msgs[i]
			if !m.FromBot || m.Deleted {
				continue
			}
			for _, row := range m.Buttons {
				for _, b := range row {
					if b.Text == label && b.CallbackData != "" {
						data, messageID = b.CallbackData, m.ID
						break search
					}
				}
			}
		}
	}
	s.mu.Unlock()
	if data == "" {
		return "", 0, fmt.Errorf("telegramtest: TapButton: no message of the bot in chat %d has a button %q", chatID, label)
	}
	queryID, err = s.Tap(chatID, fromID, messageID, data)
	return queryID, messageID, err
}

// Callbacks returns every callback query so far, oldest first.
func (s *Server) Callbacks() []CallbackQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callbacksLocked()
}

func (s *Server) callbacksLocked() []CallbackQuery {
	out := make([]CallbackQuery, 0, len(s.callbacks))
	for _, c := range s.callbacks {
		out = append(out, c.CallbackQuery)
	}
	// By update id: the order of the taps.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && s.callbacks[out[j].ID].update < s.callbacks[out[j-1].ID].update; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (s *Server) answerCallbackQuery(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p["callback_query_id"]
	if id == "" {
		return nil, badRequest("query_id is empty")
	}
	cb := s.callbacks[id]
	if cb == nil || cb.Answered {
		return nil, errQueryInvalid
	}
	if text := p["text"]; utf8.RuneCountInString(text) > maxCallbackText {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	cb.Answered, cb.Text = true, p["text"]
	cb.ShowAlert = p["show_alert"] == "true"
	s.notify()
	return true, nil
}

// allowedLocked reads allowed_updates: a JSON list of update types; an
// empty list means all, and a request without it (or with something that
// is not a list) keeps the last setting, like Telegram. Callers hold s.mu.
func (s *Server) allowedLocked(p map[string]string) *apiError {
	var kinds []string
	if err := json.Unmarshal([]byte(p["allowed_updates"]), &kinds); err == nil {
		s.allowed = kinds
	}
	return nil
}

// dropDisallowedLocked forgets the updates of types the bot did not ask
// for (Telegram does not keep them). Callers hold s.mu.
func (s *Server) dropDisallowedLocked() {
	if len(s.allowed) == 0 {
		return
	}
	allow := strings.Join(s.allowed, ",") + ","
	kept := s.updates[:0:0]
	for _, u := range s.updates {
		kind := "message"
		if u.CallbackQuery != nil {
			kind = "callback_query"
		}
		if strings.Contains(","+allow, ","+kind+",") {
			kept = append(kept, u)
		}
	}
	if len(kept) != len(s.updates) {
		s.updates = kept
	}
}
