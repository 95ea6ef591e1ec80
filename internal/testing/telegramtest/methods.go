package telegramtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	_ "image/jpeg" // photos may be JPEG
	_ "image/png"  // or PNG, like QR codes
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// formatText parses text the way parse_mode asks, then trims it like
// Telegram (leading and trailing white space go, entities follow).
func formatText(text, mode string) (string, []Entity, *apiError) {
	if !utf8.ValidString(text) {
		return "", nil, badRequest("strings must be encoded in UTF-8")
	}
	var (
		plain string
		ents  []Entity
		err   error
	)
	switch strings.ToLower(mode) {
	case "":
		plain = text
	case "markdownv2":
		plain, ents, err = ParseMarkdownV2(text)
	// The legacy "Markdown" mode is not faked: nothing here sends it.
	// HTML is, because OpenClaw sends its replies as HTML.
	case "html":
		plain, ents, err = ParseHTML(text)
	default:
		return "", nil, badRequest("unsupported parse_mode")
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return "", nil, badRequest("can't parse entities: %s", pe.Msg)
	}
	plain, ents = trim(plain, ents)
	return plain, ents, nil
}

const trimSpace = " \t\r\n\v\f"

func trim(text string, ents []Entity) (string, []Entity) {
	lead := utf16Len(text[:len(text)-len(strings.TrimLeft(text, trimSpace))])
	text = strings.Trim(text, trimSpace)
	total := utf16Len(text)
	var out []Entity
	for _, e := range ents {
		start := max(e.Offset-lead, 0)
		end := min(e.Offset+e.Length-lead, total)
		if end > start {
			e.Offset, e.Length = start, end-start
			out = append(out, e)
		}
	}
	return text, out
}

// parseMarkup reads reply_markup. Only inline keyboards are kept; other
// keyboards are accepted on sends (they change the person's input field,
// which the fake does not model) and refused on edits.
func parseMarkup(raw string, edit bool) ([][]Button, *apiError) {
	if raw == "" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	kb, ok := m["inline_keyboard"]
	if !ok {
		if edit {
			return nil, badRequest("inline keyboard expected")
		}
		return nil, nil
	}
	var rows [][]map[string]json.RawMessage
	if err := json.Unmarshal(kb, &rows); err != nil {
		return nil, badRequest("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
	}
	var out [][]Button
	for _, row := range rows {
		var r []Button
		for _, fields := range row {
			var b Button
			for k, v := range fields {
				var s string
				if err := json.Unmarshal(v, &s); err != nil {
					continue // not one of the string fields the fake checks
				}
				switch k {
				case "text":
					b.Text = s
				case "url":
					b.URL = s
				case "callback_data":
					b.CallbackData = s
				}
			}
			if b.Text == "" {
				return nil, badRequest("can't parse inline keyboard button: Text must be non-empty")
			}
			switch {
			case b.URL != "":
				if !buttonURLOK(b.URL) {
					return nil, badRequest("inline keyboard button URL '%s' is invalid: Wrong HTTP URL", b.URL)
				}
			case b.CallbackData != "":
				if len(b.CallbackData) > 64 {
					return nil, badRequest("BUTTON_DATA_INVALID")
				}
			default:
				if len(fields) <= 1 {
					return nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
				}
			}
			r = append(r, b)
		}
		if len(r) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// chatFor finds the chat named by chat_id. Callers hold s.mu.
func (s *Server) chatFor(p map[string]string) (*chat, *apiError) {
	raw, ok := p["chat_id"]
	if !ok || raw == "" {
		return nil, badRequest("chat_id is empty")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	c := s.chats[id]
	if err != nil || c == nil {
		return nil, badRequest("chat not found")
	}
	if c.blocked {
		return nil, &apiError{code: http.StatusForbidden, desc: "Forbidden: bot was blocked by the user"}
	}
	return c, nil
}

func messageID(p map[string]string) (int, *apiError) {
	if p["inline_message_id"] != "" {
		return 0, badRequest("MESSAGE_ID_INVALID")
	}
	raw := p["message_id"]
	if raw == "" {
		return 0, badRequest("message identifier is not specified")
	}
	id, err := strconv.Atoi(raw)
	if err != nil {
		return 0, badRequest("invalid message identifier specified")
	}
	return id, nil
}

// messageText reads the text, its entities and the inline keyboard of a
// sendMessage or editMessageText call, with Telegram's checks.
func messageText(p map[string]string, edit bool) (string, []Entity, [][]Button, *apiError) {
	text, ents, aerr := formatText(p["text"], p["parse_mode"])
	if aerr != nil {
		return "", nil, nil, aerr
	}
	if text == "" {
		return "", nil, nil, badRequest("message text is empty")
	}
	if utf16Len(text) > MaxTextLen {
		return "", nil, nil, badRequest("message is too long")
	}
	buttons, aerr := parseMarkup(p["reply_markup"], edit)
	if aerr != nil {
		return "", nil, nil, aerr
	}
	return text, ents, buttons, nil
}

func (s *Server) sendMessage(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatFor(p)
	if aerr != nil {
		return nil, aerr
	}
	text, ents, buttons, aerr := messageText(p, false)
	if aerr != nil {
		return nil, aerr
	}
	m := c.add(Message{FromBot: true, FromID: s.botID, Text: text, Raw: p["text"], ParseMode: p["parse_mode"], Entities: ents, Buttons: buttons})
	s.notify()
	return s.apiMessage(c, m), nil
}

// editable finds the bot's message to edit. Callers hold s.mu.
func (s *Server) editable(p map[string]string) (*chat, *Message, *apiError) {
	c, aerr := s.chatFor(p)
	if aerr != nil {
		return nil, nil, aerr
	}
	id, aerr := messageID(p)
	if aerr != nil {
		return nil, nil, aerr
	}
	m := c.find(id)
	if m == nil {
		return nil, nil, badRequest("message to edit not found")
	}
	if !m.FromBot {
		return nil, nil, badRequest("message can't be edited")
	}
	return c, m, nil
}

const notModified = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"

func (s *Server) editMessageText(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, aerr := s.editable(p)
	if aerr != nil {
		return nil, aerr
	}
	if m.Photo != nil {
		return nil, badRequest("there is no text in the message to edit")
	}
	// Without reply_markup an edit removes the inline keyboard.
	text, ents, buttons, aerr := messageText(p, true)
	if aerr != nil {
		return nil, aerr
	}
	if text == m.Text && sameEntities(ents, m.Entities) && sameButtons(buttons, m.Buttons) {
		return nil, badRequest(notModified)
	}
	m.History = append(m.History, revision(m))
	m.Text, m.Raw, m.ParseMode, m.Entities, m.Buttons = text, p["text"], p["parse_mode"], ents, buttons
	m.Edits++
	s.notify()
	return s.apiMessage(c, m), nil
}

func (s *Server) editMessageReplyMarkup(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, m, aerr := s.editable(p)
	if aerr != nil {
		return nil, aerr
	}
	buttons, aerr := parseMarkup(p["reply_markup"], true)
	if aerr != nil {
		return nil, aerr
	}
	if sameButtons(buttons, m.Buttons) {
		return nil, badRequest(notModified)
	}
	m.History = append(m.History, revision(m))
	m.Buttons = buttons
	m.Edits++
	s.notify()
	return s.apiMessage(c, m), nil
}

func revision(m *Message) Revision {
	return Revision{Text: m.Text, Raw: m.Raw, ParseMode: m.ParseMode, Entities: m.Entities, Buttons: m.Buttons}
}

func sameEntities(a, b []Entity) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func sameButtons(a, b [][]Button) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func (s *Server) deleteMessage(p map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatFor(p)
	if aerr != nil {
		return nil, aerr
	}
	id, aerr := messageID(p)
	if aerr != nil {
		return nil, aerr
	}
	m := c.find(id)
	if m == nil {
		return nil, badRequest("message to delete not found")
	}
	m.Deleted = true
	s.notify()
	return true, nil
}

func (s *Server) sendPhoto(p map[string]string, files map[string][]byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.chatFor(p)
	if aerr != nil {
		return nil, aerr
	}
	photo, ok := files["photo"]
	if !ok {
		if p["photo"] != "" {
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
		return nil, badRequest("there is no photo in the request")
	}
	if len(photo) == 0 {
		return nil, badRequest("file must be non-empty")
	}
	if _, _, err := image.DecodeConfig(bytes.NewReader(photo)); err != nil {
		return nil, badRequest("IMAGE_PROCESS_FAILED")
	}
	caption, ents, aerr := formatText(p["caption"], p["parse_mode"])
	if aerr != nil {
		return nil, aerr
	}
	if utf16Len(caption) > MaxCaptionLen {
		return nil, badRequest("message caption is too long")
	}
	buttons, aerr := parseMarkup(p["reply_markup"], false)
	if aerr != nil {
		return nil, aerr
	}
	m := c.add(Message{FromBot: true, FromID: s.botID, Text: caption, Raw: p["caption"], ParseMode: p["parse_mode"], Entities: ents, Buttons: buttons, Photo: photo})
	s.notify()
	return s.apiMessage(c, m), nil
}
