// Package openaitest is a scripted model for tests: a server that speaks the
// OpenAI chat completions API (POST /v1/chat/completions, plain or streamed
// as server-sent events, with tool calls, and GET /v1/models), answers what a
// test's script says, and logs every request so that a test can assert how
// many model turns a path took (none, for a command that must not involve
// the model).
//
//	m := openaitest.New(t, func(r openaitest.Request) openaitest.Reply {
//		if r.LastRole() == "tool" {
//			return openaitest.Text("done: " + r.LastContent())
//		}
//		return openaitest.CallTool("exec", `{"command":"date"}`)
//	})
//	// ... give m.URL() (the base URL, ending in /v1) to the code under test ...
//	if n := len(m.Requests()); n != 0 { ... }
//
// It listens on 127.0.0.1 only.
package openaitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxBody bounds every request body the server reads.
const maxBody = 16 << 20

// Message is one entry of a request's messages. Content is the text of the
// message, whether it came as a string or as content parts.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"-"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
}

// ToolCall is a function call of an assistant message.
type ToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// Request is one chat completion request as the server saw it.
type Request struct {
	Path     string
	Model    string
	Stream   bool
	Messages []Message
	Tools    []string // function names offered
	Header   http.Header
}

// LastRole is the role of the last message ("" if none).
func (r Request) LastRole() string {
	if len(r.Messages) == 0 {
		return ""
	}
	return r.Messages[len(r.Messages)-1].Role
}

// LastContent is the text of the last message.
func (r Request) LastContent() string {
	if len(r.Messages) == 0 {
		return ""
	}
	return r.Messages[len(r.Messages)-1].Content
}

// LastUser is the text of the last user message.
func (r Request) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// UserSaid reports whether a user message contains s. (Agents often send
// the person's words in one user message and context in a later one.)
func (r Request) UserSaid(s string) bool {
	for _, m := range r.Messages {
		if m.Role == "user" && strings.Contains(m.Content, s) {
			return true
		}
	}
	return false
}

// HasTool reports whether the request offered a function named name.
func (r Request) HasTool(name string) bool {
	for _, t := range r.Tools {
		if t == name {
			return true
		}
	}
	return false
}

// Reply is the script's answer to one request: text, or one tool call.
type Reply struct {
	Text      string
	Tool      string // function name; empty for a text reply
	Arguments string // JSON arguments of the tool call
}

// Text is a plain assistant answer.
func Text(s string) Reply { return Reply{Text: s} }

// ToolCall asks the caller to run a function with JSON arguments.
func CallTool(name, arguments string) Reply { return Reply{Tool: name, Arguments: arguments} }

// Script decides the answer to each request.
type Script func(Request) Reply

// Server is the scripted model. It is safe for concurrent use.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	script Script

	mu       sync.Mutex
	requests []Request
	calls    int
}

// New starts a server on 127.0.0.1 with the script and stops it when the
// test ends.
func New(tb testing.TB, script Script) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("openaitest: %v", err)
	}
	s := &Server{ln: ln, script: script}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("/", s.notFound)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	tb.Cleanup(func() { s.srv.Close() })
	return s
}

// URL is the base URL of the API, ending in /v1.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/v1" }

// Requests returns every request to any path so far, oldest first (paths
// other than chat completions have only Path set).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Completions counts the chat completion requests so far.
func (s *Server) Completions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Server) log(r Request, completion bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	if completion {
		s.calls++
	}
}

type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	var e apiError
	e.Error.Message, e.Error.Type = msg, "invalid_request_error"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.log(Request{Path: r.URL.Path, Header: r.Header.Clone()}, false)
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	s.log(Request{Path: r.URL.Path, Header: r.Header.Clone()}, false)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"object":"list","data":[{"id":"scripted","object":"model","created":0,"owned_by":"openaitest"}]}`)
}

// wireMessage is a message as it arrives: content is a string, an array of
// parts or null.
type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []ToolCall      `json:"tool_calls"`
}

type wireRequest struct {
	Model    string        `json:"model"`
	Stream   bool          `json:"stream"`
	Messages []wireMessage `json:"messages"`
	Tools    []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
}

// text flattens a message's content.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return ""
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var in wireRequest
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	req := Request{Path: r.URL.Path, Model: in.Model, Stream: in.Stream, Header: r.Header.Clone()}
	for _, m := range in.Messages {
		req.Messages = append(req.Messages, Message{Role: m.Role, Content: text(m.Content), ToolCallID: m.ToolCallID, ToolCalls: m.ToolCalls})
	}
	for _, t := range in.Tools {
		req.Tools = append(req.Tools, t.Function.Name)
	}
	s.log(req, true)
	reply := s.script(req)

	s.mu.Lock()
	n := s.calls
	s.mu.Unlock()
	id := fmt.Sprintf("chatcmpl-%d", n)
	callID := fmt.Sprintf("call_%d", n)
	finish := "stop"
	msg := map[string]any{"role": "assistant", "content": reply.Text}
	if reply.Tool != "" {
		finish = "tool_calls"
		msg["content"] = nil
		msg["tool_calls"] = []map[string]any{{
			"id": callID, "type": "function",
			"function": map[string]any{"name": reply.Tool, "arguments": reply.Arguments},
		}}
	}
	usage := map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
	created := time.Now().Unix()

	if !in.Stream {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": in.Model,
			"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finish}},
			"usage":   usage,
		})
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model,
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}},
		}
	}
	if reply.Tool != "" {
		send(chunk(map[string]any{"role": "assistant", "content": nil, "tool_calls": []map[string]any{{
			"index": 0, "id": callID, "type": "function",
			"function": map[string]any{"name": reply.Tool, "arguments": ""},
		}}}, nil))
		send(chunk(map[string]any{"tool_calls": []map[string]any{{
			"index": 0, "function": map[string]any{"arguments": reply.Arguments},
		}}}, nil))
	} else {
		send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
		send(chunk(map[string]any{"content": reply.Text}, nil))
	}
	send(chunk(map[string]any{}, finish))
	send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": in.Model, "choices": []any{}, "usage": usage})
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}
