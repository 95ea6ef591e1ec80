package dockerguard

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// endpoint is one of the API calls the guard lets through.
type endpoint int

const (
	epPing endpoint = iota + 1
	epVersion
	epContainerList
	epContainerInspect
	epExecCreate
	epExecStart
	epExecResize
	epExecInspect
)

var endpointNames = map[endpoint]string{
	epPing:             "ping",
	epVersion:          "version",
	epContainerList:    "container list",
	epContainerInspect: "container inspect",
	epExecCreate:       "exec create",
	epExecStart:        "exec start",
	epExecResize:       "exec resize",
	epExecInspect:      "exec inspect",
}

func (e endpoint) String() string { return endpointNames[e] }

// route is a matched request target.
type route struct {
	ep      endpoint
	version string // "v1.45" or "" when the client sent no version prefix
	arg     string // container reference or exec ID
	query   string // raw query, only kept by endpoints that take one
}

// values parses the raw query of an endpoint that keeps one; a malformed
// query is denied.
func (rt route) values() (url.Values, error) {
	in, err := url.ParseQuery(rt.query)
	if err != nil {
		return nil, denyf("malformed query")
	}
	return in, nil
}

// keepTrue sets in out, as "1", each of keys that in sets true: the only
// parameters of the client's query that reach the daemon are the flags an
// endpoint names.
func keepTrue(out, in url.Values, keys ...string) {
	for _, k := range keys {
		if v, err := strconv.ParseBool(in.Get(k)); err == nil && v {
			out.Set(k, "1")
		}
	}
}

// prefix is the version prefix to put back in front of upstream paths.
func (rt route) prefix() string {
	if rt.version == "" {
		return ""
	}
	return "/" + rt.version
}

const (
	maxTargetLen  = 1024
	maxNameLen    = 255 // longer than any container name or ID the daemon issues
	maxVersionLen = 8   // "v1.999"
)

// matchRoute maps a method and a raw request target (r.RequestURI) to an
// allowed endpoint, or explains why it is refused.
//
// It is deliberately stricter than the daemon's router: every byte of the
// path must be one that container names, exec IDs and API versions use
// ([A-Za-z0-9._-] and '/'), so no percent-encoding (single or double) can
// reach a path decoder that might disagree with ours.
func matchRoute(method, target string) (route, error) {
	if len(target) > maxTargetLen {
		return route{}, denyf("request target is longer than %d bytes", maxTargetLen)
	}
	if !strings.HasPrefix(target, "/") {
		return route{}, denyf("request target %.64q is not an origin-form path", target)
	}
	path, query, _ := strings.Cut(target, "?")
	for i := 0; i < len(path); i++ {
		if !isPathByte(path[i]) {
			if path[i] == '%' {
				return route{}, denyf("percent-encoded path")
			}
			return route{}, denyf("path contains the byte %q", path[i])
		}
	}
	segs := strings.Split(path[1:], "/")
	for _, s := range segs {
		switch s {
		case "":
			return route{}, denyf("empty path segment")
		case ".", "..":
			return route{}, denyf("dot segment in path")
		}
	}
	var rt route
	if v := segs[0]; len(v) > 1 && v[0] == 'v' && isDigit(v[1]) {
		if !isVersion(v) {
			return route{}, denyf("malformed API version %.16q", v)
		}
		rt.version = v
		segs = segs[1:]
		if len(segs) == 0 {
			return route{}, denyf("no endpoint after the API version")
		}
	}

	var allow []string
	switch {
	case len(segs) == 1 && segs[0] == "_ping":
		rt.ep, allow = epPing, []string{http.MethodGet, http.MethodHead}
	case len(segs) == 1 && segs[0] == "version":
		rt.ep, allow = epVersion, []string{http.MethodGet}
	case len(segs) == 2 && segs[0] == "containers" && segs[1] == "json":
		rt.ep, allow = epContainerList, []string{http.MethodGet}
		rt.query = query
	case len(segs) == 3 && segs[0] == "containers" && segs[2] == "json":
		rt.ep, allow = epContainerInspect, []string{http.MethodGet}
		rt.arg = segs[1]
		rt.query = query
	case len(segs) == 3 && segs[0] == "containers" && segs[2] == "exec":
		rt.ep, allow = epExecCreate, []string{http.MethodPost}
		rt.arg = segs[1]
	case len(segs) == 3 && segs[0] == "exec" && segs[2] == "start":
		rt.ep, allow = epExecStart, []string{http.MethodPost}
		rt.arg = segs[1]
	case len(segs) == 3 && segs[0] == "exec" && segs[2] == "resize":
		rt.ep, allow = epExecResize, []string{http.MethodPost}
		rt.arg = segs[1]
		rt.query = query
	case len(segs) == 3 && segs[0] == "exec" && segs[2] == "json":
		rt.ep, allow = epExecInspect, []string{http.MethodGet}
		rt.arg = segs[1]
	default:
		return route{}, denyf("endpoint %s %.80s is not allowed", sanitizeMethod(method), stripVersion(path, rt.version))
	}
	ok := false
	for _, m := range allow {
		ok = ok || m == method
	}
	if !ok {
		return route{}, denyf("method %s is not allowed for %s", sanitizeMethod(method), rt.ep)
	}
	switch rt.ep {
	case epContainerInspect, epExecCreate:
		if !isContainerRef(rt.arg) {
			return route{}, denyf("malformed container reference")
		}
	case epExecStart, epExecResize, epExecInspect:
		if !isExecID(rt.arg) {
			return route{}, denyf("malformed exec ID")
		}
	}
	return rt, nil
}

func stripVersion(path, version string) string {
	if version == "" {
		return path
	}
	return strings.TrimPrefix(path, "/"+version)
}

func sanitizeMethod(m string) string {
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' || i >= 16 {
			return fmt.Sprintf("%.16q", m)
		}
	}
	return m
}

func isPathByte(c byte) bool {
	return isAlnum(c) || c == '/' || c == '.' || c == '_' || c == '-'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' }

// isVersion reports whether v is "v" MAJOR "." MINOR in decimal without
// leading zeros (the daemon's router is laxer: it takes any [0-9.]+).
func isVersion(v string) bool {
	if len(v) > maxVersionLen || len(v) < 4 || v[0] != 'v' {
		return false
	}
	major, minor, ok := strings.Cut(v[1:], ".")
	return ok && isDecimal(major) && isDecimal(minor)
}

func isDecimal(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isContainerRef reports whether s can be a container name, ID or ID prefix:
// the daemon's name pattern [a-zA-Z0-9][a-zA-Z0-9_.-]*.
func isContainerRef(s string) bool {
	if s == "" || len(s) > maxNameLen || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// isExecID reports whether s has the shape of the IDs the daemon issues for
// execs: 64 lower-case hex digits. The daemon looks execs up by exact ID.
func isExecID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}
