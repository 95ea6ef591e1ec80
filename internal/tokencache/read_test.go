package tokencache

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// full is an entry with every member Save can write.
func full(s string) *Entry {
	t := time.Date(2026, 12, 1, 17, 4, 5, 123456789, time.FixedZone("", 3600))
	return &Entry{
		Version: Version, Profile: "work", Provider: "microsoft", AccessToken: "eyJ.a.b" + s, TokenType: "Bearer",
		RefreshToken: "r" + s, Expiry: t, ScopesGranted: []string{"openid", s}, ScopesRequested: []string{},
		Account: Account{Name: s, Email: "a@example.com", Subject: "sub"}, SignedInAt: t.UTC(), RefreshedAt: t,
		RefreshIssuedAt: t, RefreshExpiresAt: t, SignInRequired: true, Reason: "invalid_grant: " + s, NotifiedAt: t, OneOff: true, Flow: "code",
		Scoped: map[string]*ScopedToken{
			s:        {Scopes: []string{s}, AccessToken: "x", TokenType: "Bearer", Expiry: t, ScopesGranted: []string{"a"}, RefreshedAt: t},
			"narrow": {Scopes: nil, AccessToken: "y"},
		},
		AWS: &AWS{StartURL: "https://d-1.awsapps.com/start", Region: "eu-west-1", AccountID: "123456789012", RoleName: "R",
			ClientID: "c", ClientSecret: s, RegistrationExpiresAt: t,
			Credentials: &AWSCredentials{AccessKeyID: "AKIA", SecretAccessKey: s, SessionToken: "st", Expiration: t}},
	}
}

// viaJSON is what encoding/json reads from b, as decode did before
// readEntry.
func viaJSON(b []byte) (*Entry, error) {
	e := new(Entry)
	return e, json.NewDecoder(bytes.NewReader(b)).Decode(e)
}

// TestReadEntryReadsWhatSaveWrites: the strict reader takes every file
// Save writes (else the fast path would never be taken), minimal or full,
// with strings that need escapes.
func TestReadEntryReadsWhatSaveWrites(t *testing.T) {
	for _, s := range []string{"plain", "", "<a&b>", "quote\" back\\slash", "\x00\x1f\x7f", "\u2028\u2029", "é漢字🙂", "\xff"} {
		for _, e := range []*Entry{{Version: Version, Profile: "p", AccessToken: s}, full(s)} {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			got, ok := readEntry(b)
			if !ok {
				t.Fatalf("readEntry gave up on what Save writes: %s", b)
			}
			want, err := viaJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("readEntry(%s)\n = %+v\nwant %+v", b, got, want)
			}
		}
	}
}

// TestReadEntryGivesUp on what encoding/json reads differently or not at
// all: the caller then decodes with encoding/json.
func TestReadEntryGivesUp(t *testing.T) {
	for _, in := range []string{
		``, `null`, `[]`, `{`, `{"version":1`, `{"version":1}x`, `{"version":1}{}`,
		`{"Version":1}`, `{"version":1,"version":1}`, `{"unknown":1}`, `{"version":-1}`, `{"version":1.0}`, `{"version":01}`,
		`{"account":null}`, `{"scoped":{"a":null}}`, `{"scoped":{"a":{}},"scoped":{"b":{}}}`, `{"aws":null}`,
		`{"profile":"\ud83d\ude42"}`, `{"profile":"` + "\xff" + `"}`, `{"profile":"a` + "\n" + `"}`, `{"profile":"\x"}`,
		`{"expiry":"2026-13-01T00:00:00Z"}`, `{"expiry":null}`, `{"expiry":"2026-12-01T00:00:00\u005a"}`, `{"one_off":1}`,
		`{"scopes_granted":["a",]}`, `{"scopes_granted":[1]}`, `{,}`, `{"version":1,}`,
	} {
		if e, ok := readEntry([]byte(in)); ok {
			t.Errorf("readEntry(%s) = %+v, want it to give up", in, e)
		}
	}
}

// FuzzReadEntry: whatever the strict reader accepts, encoding/json reads
// too, to the same entry.
func FuzzReadEntry(f *testing.F) {
	for _, s := range []string{"x", "<&>", "\u2028"} {
		b, _ := json.Marshal(full(s))
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"profile":"p","access_token":"a\u00e9\n\/","scopes_granted":[],"scoped":{}}`))
	f.Add([]byte(` {"scopes_granted":null, "account":{"name":"\"n\""}} `))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := readEntry(b)
		if !ok {
			return
		}
		want, err := viaJSON(b)
		if err != nil {
			t.Fatalf("readEntry accepted what encoding/json refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("readEntry(%q)\n = %+v\nwant %+v", b, got, want)
		}
	})
}

// FuzzReadEntryTakesSaved: every entry Save writes, whatever its strings,
// is read by the strict reader, so the fast path is always taken.
func FuzzReadEntryTakesSaved(f *testing.F) {
	f.Add("p", "tok", "name", "scope", int64(1764600000), true)
	f.Add("", "\xff<\u2028>", "\"\\", "\x00", int64(-62135596800), false)
	f.Fuzz(func(t *testing.T, profile, token, name, scope string, sec int64, full bool) {
		e := &Entry{Version: Version, Profile: profile, AccessToken: token, Account: Account{Name: name}, ScopesGranted: []string{scope},
			Expiry: time.Unix(sec, 0).UTC()}
		if full {
			e.Scoped = map[string]*ScopedToken{scope: {Scopes: []string{scope}, AccessToken: token}}
		}
		b, err := json.Marshal(e)
		if err != nil {
			return // a time json cannot write: Save fails before writing
		}
		got, ok := readEntry(b)
		if !ok {
			t.Fatalf("readEntry gave up on what Save writes: %s", b)
		}
		if want, _ := viaJSON(b); !reflect.DeepEqual(got, want) {
			t.Fatalf("readEntry(%s)\n = %+v\nwant %+v", b, got, want)
		}
	})
}
