package dockerguard

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
)

// execCreate handles POST /containers/{sidecar}/exec. The client's original
// body is forwarded, to the sidecar's full ID, once it passed the policy.
func (g *Guard) execCreate(w http.ResponseWriter, r *http.Request, rt route) {
	body, err := readBody(w, r, g.cfg.MaxBodyBytes)
	if err != nil {
		g.deny(w, r, err)
		return
	}
	opts, err := g.policy.decodeExecCreate(body)
	if err != nil {
		g.deny(w, r, err)
		return
	}
	body, err = json.Marshal(markAgent(opts))
	if err != nil {
		g.deny(w, r, err)
		return
	}
	id, err := g.resolveSidecar(r.Context(), rt.arg)
	if err != nil {
		g.deny(w, r, err)
		return
	}
	// Log the program name only: arguments and environment values may be
	// secrets.
	sub := ""
	if len(opts.Cmd) > 1 && opts.Cmd[0] == "sidecar" {
		sub = opts.Cmd[1] // a checked subcommand name, never a value
	}
	g.logAllow(r, rt, slog.String("command", opts.Cmd[0]), slog.String("subcommand", sub), slog.Bool("tty", opts.Tty))
	resp, err := g.roundTrip(r.Context(), http.MethodPost, rt.prefix()+"/containers/"+id+"/exec", "", body, r.Header)
	if err != nil {
		g.upstreamFailed(w, r, err)
		return
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body)
	if err != nil {
		g.upstreamFailed(w, r, err)
		return
	}
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		var created struct {
			ID string `json:"Id"`
		}
		if err := json.Unmarshal(b, &created); err != nil || !isExecID(created.ID) {
			g.upstreamFailed(w, r, fmt.Errorf("unexpected exec create answer"))
			return
		}
		g.execs.add(created.ID)
	}
	copyHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(b)
}

// ownExec refuses exec IDs the guard did not create.
func (g *Guard) ownExec(rt route) error {
	if !g.execs.use(rt.arg) {
		return denyf("exec %.12s was not created through the guard", rt.arg)
	}
	return nil
}

// execResize handles POST /exec/{id}/resize?h=&w=.
func (g *Guard) execResize(w http.ResponseWriter, r *http.Request, rt route) {
	if err := g.ownExec(rt); err != nil {
		g.deny(w, r, err)
		return
	}
	in, err := rt.values()
	if err != nil {
		g.deny(w, r, err)
		return
	}
	q := url.Values{}
	for _, k := range []string{"h", "w"} {
		n, err := strconv.ParseUint(in.Get(k), 10, 16)
		if err != nil {
			g.deny(w, r, badRequestf("resize needs numeric h and w"))
			return
		}
		q.Set(k, strconv.FormatUint(n, 10))
	}
	g.logAllow(r, rt)
	g.forward(w, r, http.MethodPost, rt.prefix()+"/exec/"+rt.arg+"/resize", q.Encode(), []byte{}, nil)
}

// execInspect handles GET /exec/{id}/json.
func (g *Guard) execInspect(w http.ResponseWriter, r *http.Request, rt route) {
	if err := g.ownExec(rt); err != nil {
		g.deny(w, r, err)
		return
	}
	g.logAllow(r, rt)
	g.forward(w, r, http.MethodGet, rt.prefix()+"/exec/"+rt.arg+"/json", "", nil, nil)
}
