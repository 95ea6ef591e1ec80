package telegramtest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"slices"
	"strings"
	"time"
)

// Message is a message as the person sees it in the chat.
type Message struct {
	ID        int
	FromBot   bool   // false for the person's own messages (PushUpdate)
	FromID    int64  // the sender's user id
	Text      string // the text (or photo caption) the person reads, after entity parsing
	Raw       string // the text or caption as sent, before parsing
	ParseMode string
	Entities  []Entity
	Buttons   [][]Button // the inline keyboard, row by row
	Photo     []byte     // the uploaded photo, for sendPhoto
	Deleted   bool
	Edits     int        // successful edits (text or reply markup)
	History   []Revision // the versions before each edit, oldest first
}

// Revision is an earlier version of an edited message.
type Revision struct {
	Text, Raw, ParseMode string
	Entities             []Entity
	Buttons              [][]Button
}

// Button is an inline keyboard button.
type Button struct {
	Text         string `json:"text"`
	URL          string `json:"url,omitempty"`
	CallbackData string `json:"callback_data,omitempty"`
}

// Links returns the URLs the person can open from the message: its text
// links and its URL buttons, in that order.
func (m Message) Links() []string {
	var out []string
	for _, e := range m.Entities {
		if e.Type == "text_link" {
			out = append(out, e.URL)
		}
	}
	for _, row := range m.Buttons {
		for _, b := range row {
			if b.URL != "" {
				out = append(out, b.URL)
			}
		}
	}
	return out
}

func (m Message) clone() Message {
	m.Entities = slices.Clone(m.Entities)
	m.Buttons = cloneButtons(m.Buttons)
	m.Photo = slices.Clone(m.Photo)
	h := make([]Revision, len(m.History))
	for i, r := range m.History {
		r.Entities = slices.Clone(r.Entities)
		r.Buttons = cloneButtons(r.Buttons)
		h[i] = r
	}
	m.History = h
	return m
}

func cloneButtons(rows [][]Button) [][]Button {
	if rows == nil {
		return nil
	}
	out := make([][]Button, len(rows))
	for i, r := range rows {
		out[i] = slices.Clone(r)
	}
	return out
}

type chat struct {
	id      int64
	blocked bool
	lastID  int
	msgs    []*Message
}

func (c *chat) add(m Message) *Message {
	c.lastID++
	m.ID = c.lastID
	c.msgs = append(c.msgs, &m)
	return &m
}

// find returns a message that is not deleted.
func (c *chat) find(id int) *Message {
	for _, m := range c.msgs {
		if m.ID == id && !m.Deleted {
			return m
		}
	}
	return nil
}

// AddChat registers a private chat with the person chatID (in a private chat
// the chat id is the user id). Sending to an unknown chat is 400 "chat not
// found", as for a person who never wrote to the bot.
func (s *Server) AddChat(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(chatID)
	s.notify()
}

func (s *Server) chatLocked(chatID int64) *chat {
	c := s.chats[chatID]
	if c == nil {
		c = &chat{id: chatID}
		s.chats[chatID] = c
	}
	return c
}

// BlockChat makes the person block the bot (true) or unblock it: sending
// then answers 403 "Forbidden: bot was blocked by the user".
func (s *Server) BlockChat(chatID int64, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(chatID).blocked = blocked
	s.notify()
}

// PushUpdate simulates the person fromID writing text to the bot in chatID
// (registering the chat): the message appears in the chat and an update for
// getUpdates is queued. The sender's username is "user<fromID>". It returns
// the update_id.
func (s *Server) PushUpdate(chatID, fromID int64, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chatLocked(chatID)
	m := c.add(Message{FromID: fromID, Text: text, Raw: text})
	if strings.HasPrefix(text, "/") {
		end := strings.IndexAny(text, " \n")
		if end < 0 {
			end = len(text)
		}
		m.Entities = []Entity{{Type: "bot_command", Offset: 0, Length: utf16Len(text[:end])}}
	}
	id := s.nextUpdateID
	s.nextUpdateID++
	s.updates = append(s.updates, update{ID: id, Message: s.apiMessage(c, m)})
	s.notify()
	return id
}

// Chat returns the messages of chatID, oldest first, deleted ones included
// (Deleted is set).
func (s *Server) Chat(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chatView(chatID)
}

func (s *Server) chatView(chatID int64) []Message {
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	out := make([]Message, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = m.clone()
	}
	return out
}

// View is a snapshot of the server's state, for WaitFor.
type View struct {
	Chats          map[int64][]Message
	Calls          []Call
	Polling        bool // a getUpdates long poll is waiting
	PendingUpdates int  // updates not yet confirmed
	Callbacks      []CallbackQuery
}

// Chat returns the messages of chatID, like Server.Chat.
func (v View) Chat(chatID int64) []Message { return v.Chats[chatID] }

// Last returns the newest message of the bot in chatID that is not deleted.
func (v View) Last(chatID int64) (Message, bool) {
	msgs := v.Chats[chatID]
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].FromBot && !msgs[i].Deleted {
			return msgs[i], true
		}
	}
	return Message{}, false
}

// Snapshot returns the current state.
func (s *Server) Snapshot() View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

func (s *Server) snapshotLocked() View {
	v := View{Chats: make(map[int64][]Message, len(s.chats)), Calls: copyCalls(s.calls), Polling: s.poll != nil, PendingUpdates: len(s.updates), Callbacks: s.callbacksLocked()}
	for id := range s.chats {
		v.Chats[id] = s.chatView(id)
	}
	return v
}

// WaitFor waits until cond holds for the server's state, checking after
// every change, or until ctx ends. cond must not call the server.
func (s *Server) WaitFor(ctx context.Context, cond func(View) bool) error {
	for {
		s.mu.Lock()
		v := s.snapshotLocked()
		changed := s.changed
		s.mu.Unlock()
		if cond(v) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("telegramtest: condition not met: %w", ctx.Err())
		}
	}
}

// JSON shapes of the Bot API.

type apiUser struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	Username  string `json:"username,omitempty"`
}

type apiChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	FirstName string `json:"first_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

type apiEntity struct {
	Type          string   `json:"type"`
	Offset        int      `json:"offset"`
	Length        int      `json:"length"`
	URL           string   `json:"url,omitempty"`
	Language      string   `json:"language,omitempty"`
	User          *apiUser `json:"user,omitempty"`
	CustomEmojiID string   `json:"custom_emoji_id,omitempty"`
}

type apiPhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int    `json:"file_size"`
}

type apiMarkup struct {
	InlineKeyboard [][]Button `json:"inline_keyboard"`
}

type apiMessage struct {
	MessageID       int            `json:"message_id"`
	From            *apiUser       `json:"from,omitempty"`
	Chat            apiChat        `json:"chat"`
	Date            int64          `json:"date"`
	EditDate        int64          `json:"edit_date,omitempty"`
	Text            string         `json:"text,omitempty"`
	Entities        []apiEntity    `json:"entities,omitempty"`
	Caption         string         `json:"caption,omitempty"`
	CaptionEntities []apiEntity    `json:"caption_entities,omitempty"`
	Photo           []apiPhotoSize `json:"photo,omitempty"`
	ReplyMarkup     *apiMarkup     `json:"reply_markup,omitempty"`
}

type update struct {
	ID            int               `json:"update_id"`
	Message       *apiMessage       `json:"message,omitempty"`
	CallbackQuery *apiCallbackQuery `json:"callback_query,omitempty"`
}

func userName(id int64) string { return fmt.Sprintf("user%d", id) }

// apiMessage renders m as the Bot API returns it. Callers hold s.mu.
func (s *Server) apiMessage(c *chat, m *Message) *apiMessage {
	out := &apiMessage{
		MessageID: m.ID,
		Chat:      apiChat{ID: c.id, Type: "private", FirstName: "User", Username: userName(c.id)},
		Date:      time.Now().Unix(),
	}
	if m.FromBot {
		out.From = &apiUser{ID: s.botID, IsBot: true, FirstName: s.firstName, Username: s.username}
	} else {
		out.From = &apiUser{ID: m.FromID, FirstName: "User", Username: userName(m.FromID)}
	}
	if m.Edits > 0 {
		out.EditDate = out.Date
	}
	ents := make([]apiEntity, len(m.Entities))
	for i, e := range m.Entities {
		ents[i] = apiEntity{Type: e.Type, Offset: e.Offset, Length: e.Length, URL: e.URL, Language: e.Language, CustomEmojiID: e.CustomEmojiID}
		if e.UserID != 0 {
			ents[i].User = &apiUser{ID: e.UserID, FirstName: "User"}
		}
	}
	if m.Photo != nil {
		out.Caption, out.CaptionEntities = m.Text, ents
		cfg, _, _ := image.DecodeConfig(bytes.NewReader(m.Photo)) // checked by sendPhoto
		out.Photo = []apiPhotoSize{{FileID: fmt.Sprintf("photo-%d-%d", c.id, m.ID), FileUniqueID: fmt.Sprintf("u%d-%d", c.id, m.ID), Width: cfg.Width, Height: cfg.Height, FileSize: len(m.Photo)}}
	} else {
		out.Text, out.Entities = m.Text, ents
	}
	if len(m.Buttons) > 0 {
		out.ReplyMarkup = &apiMarkup{InlineKeyboard: cloneButtons(m.Buttons)}
	}
	return out
}
