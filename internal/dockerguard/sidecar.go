package dockerguard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// lookupUserAgent marks the guard's own requests in the daemon's logs.
const lookupUserAgent = "devicegate-guard"

// sidecarRef is what the guard knows about one sidecar container.
type sidecarRef struct {
	ID     string            `json:"Id"`
	Names  []string          `json:"Names"`
	Labels map[string]string `json:"Labels"`
}

// sidecarCache holds the upstream's list of sidecar containers briefly, so
// that the inspect-create-start sequence of one "docker exec" asks once.
type sidecarCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex // held while fetching, so concurrent misses ask once
	fetched time.Time
	list    []sidecarRef
}

// labelFilter is the Docker filters argument selecting the sidecar.
//
// The project and service labels alone are not enough: Compose also writes
// them into the images it builds, and a container inherits its image's
// labels, so any container run from the sidecar image (a `docker run ...
// keygen`, a copy started by hand) would pass for the sidecar. Only the
// containers Compose creates for a service carry oneoff=False; `compose
// run` ones carry True.
func (g *Guard) labelFilter() string {
	b, _ := json.Marshal(map[string]map[string]bool{"label": {
		labelProject + "=" + g.cfg.Project: true,
		labelService + "=" + g.cfg.Service: true,
		labelOneoff + "=False":             true,
	}})
	return string(b)
}

// isSidecar checks the labels again: the guard does not rely on the daemon
// having applied the filter.
func (g *Guard) isSidecar(labels map[string]string) bool {
	return labels[labelProject] == g.cfg.Project && labels[labelService] == g.cfg.Service &&
		labels[labelOneoff] == "False"
}

func (g *Guard) sidecarList(ctx context.Context) ([]sidecarRef, error) {
	c := g.sidecars
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fetched.IsZero() && c.now().Sub(c.fetched) < c.ttl {
		return c.list, nil
	}
	q := url.Values{"all": {"1"}, "filters": {g.labelFilter()}}
	resp, err := g.roundTrip(ctx, http.MethodGet, "/containers/json", q.Encode(), nil, http.Header{"User-Agent": {lookupUserAgent}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing containers: %s", resp.Status)
	}
	var all []sidecarRef
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var list []sidecarRef
	for _, s := range all {
		if g.isSidecar(s.Labels) && isExecID(s.ID) {
			list = append(list, s)
		}
	}
	c.list, c.fetched = list, c.now()
	return list, nil
}

// resolveSidecar maps a container reference from the client to the full ID
// of a sidecar container, or refuses. Like the daemon it takes a full ID, a
// name (the daemon stores names with a leading "/") or a unique ID prefix.
func (g *Guard) resolveSidecar(ctx context.Context, ref string) (string, error) {
	list, err := g.sidecarList(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range list {
		if s.ID == ref {
			return s.ID, nil
		}
		for _, n := range s.Names {
			if strings.TrimPrefix(n, "/") == ref {
				return s.ID, nil
			}
		}
	}
	var match []string
	for _, s := range list {
		if strings.HasPrefix(s.ID, ref) {
			match = append(match, s.ID)
		}
	}
	switch len(match) {
	case 0:
		return "", denyf("container %.64q is not the sidecar", ref)
	case 1:
		return match[0], nil
	default:
		return "", denyf("container ID prefix %.64q is ambiguous", ref)
	}
}

// containerList answers GET /containers/json with the sidecar only. The
// client's filters are replaced; only "all" and "size" are kept.
func (g *Guard) containerList(w http.ResponseWriter, r *http.Request, rt route) {
	in, err := rt.values()
	if err != nil {
		g.deny(w, r, err)
		return
	}
	q := url.Values{"filters": {g.labelFilter()}}
	keepTrue(q, in, "all", "size")
	g.logAllow(r, rt)
	g.forward(w, r, http.MethodGet, rt.prefix()+"/containers/json", q.Encode(), nil, func(b []byte) ([]byte, error) {
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("container list: %w", err)
		}
		kept := []json.RawMessage{}
		for _, it := range items {
			var s sidecarRef
			if json.Unmarshal(it, &s) == nil && g.isSidecar(s.Labels) {
				kept = append(kept, it)
			}
		}
		return json.Marshal(kept)
	})
}

// containerInspect answers GET /containers/{sidecar}/json. Config.Env is
// redacted: it holds the secrets the sidecar exists to keep from the agent,
// and "docker exec" only needs the inspect to succeed.
func (g *Guard) containerInspect(w http.ResponseWriter, r *http.Request, rt route) {
	id, err := g.resolveSidecar(r.Context(), rt.arg)
	if err != nil {
		g.deny(w, r, err)
		return
	}
	in, err := rt.values()
	if err != nil {
		g.deny(w, r, err)
		return
	}
	q := url.Values{}
	keepTrue(q, in, "size")
	g.logAllow(r, rt)
	g.forward(w, r, http.MethodGet, rt.prefix()+"/containers/"+id+"/json", q.Encode(), nil, redactInspect)
}

func redactInspect(b []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("container inspect: %w", err)
	}
	cfgRaw, ok := top["Config"]
	if !ok || string(cfgRaw) == "null" {
		return b, nil
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(cfgRaw, &cfg); err != nil {
		return nil, fmt.Errorf("container inspect: %w", err)
	}
	if _, ok := cfg["Env"]; !ok {
		return b, nil
	}
	cfg["Env"] = json.RawMessage(`[]`)
	var err error
	if top["Config"], err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}
