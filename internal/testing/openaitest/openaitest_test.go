package openaitest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func script(r Request) Reply {
	if r.LastRole() == "tool" {
		return Text("result: " + r.LastContent())
	}
	if r.UserSaid("date") && r.HasTool("exec") {
		return CallTool("exec", `{"command":"date"}`)
	}
	return Text("hello")
}

func post(t *testing.T, m *Server, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(m.URL()+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestPlain(t *testing.T) {
	m := New(t, script)
	resp := post(t, m, `{"model":"scripted","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"what is the date?"}]}],"tools":[{"type":"function","function":{"name":"exec"}}]}`)
	var out struct {
		Choices []struct {
			Message struct {
				ToolCalls []ToolCall `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Choices) != 1 || out.Choices[0].FinishReason != "tool_calls" || out.Choices[0].Message.ToolCalls[0].Function.Arguments != `{"command":"date"}` {
		t.Fatalf("answer %+v", out)
	}
	reqs := m.Requests()
	if len(reqs) != 1 || m.Completions() != 1 || reqs[0].Model != "scripted" || reqs[0].Messages[1].Content != "what is the date?" || !reqs[0].HasTool("exec") {
		t.Fatalf("log %+v", reqs)
	}
}

func TestStream(t *testing.T) {
	m := New(t, script)
	resp := post(t, m, `{"model":"scripted","stream":true,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"exec","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"Tue"}]}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	var text strings.Builder
	var done bool
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			break
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("chunk %s: %v", data, err)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	if !done || text.String() != "result: Tue" {
		t.Fatalf("streamed %q, [DONE] %v", text.String(), done)
	}
}

func TestOtherPaths(t *testing.T) {
	m := New(t, script)
	resp, err := http.Get(m.URL() + "/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/models: %d", resp.StatusCode)
	}
	resp, err = http.Get(m.URL() + "/embeddings")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("GET /v1/embeddings: %d", resp.StatusCode)
	}
	if r := post(t, m, `{bad`); r.StatusCode != 400 {
		t.Fatalf("bad JSON: %d", r.StatusCode)
	}
	if n := m.Completions(); n != 0 || len(m.Requests()) != 2 {
		t.Fatalf("%d completions, %d requests", n, len(m.Requests()))
	}
}
