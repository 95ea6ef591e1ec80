package awssso_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/devicegate/devicegate/internal/awssso"
)

// Every parser must take any bytes without panicking, and its errors must
// not echo the body (which may hold a token or secret).

const secretMarker = "SECRETSECRET"

func FuzzParseError(f *testing.F) {
	f.Add("AuthorizationPendingException:http://internal.amazon.com/", `{"error":"authorization_pending","error_description":null}`)
	f.Add("", `{"__type":"a#b:c","message":"m"}`)
	f.Add("", `{"code":5,"Message":"x"}`)
	f.Add("", "\xff\xfe")
	f.Fuzz(func(t *testing.T, header, body string) {
		h := http.Header{}
		h.Set("X-Amzn-Errortype", header)
		e := awssso.ParseError("Op", 400, h, []byte(body))
		msg := e.Error()
		if strings.ContainsAny(msg, "\n\r\x1b") {
			t.Fatalf("control character in %q", msg)
		}
		if len(e.Type) > 110 || len(e.Description) > 310 {
			t.Fatalf("unbounded fields: %d %d", len(e.Type), len(e.Description))
		}
		if utf8.ValidString(body) && !utf8.ValidString(e.Description) {
			t.Fatalf("clipping broke UTF-8: %q", e.Description)
		}
	})
}

func fuzzParser[T any](f *testing.F, parse func([]byte) (T, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, err := parse([]byte(body))
		if err != nil && strings.Contains(err.Error(), secretMarker) {
			t.Fatalf("error echoes the body: %v", err)
		}
	})
}

func FuzzParseRegistration(f *testing.F) {
	fuzzParser(f, awssso.ParseRegistration,
		`{"clientId":"a","clientSecret":"SECRETSECRET","clientIdIssuedAt":1,"clientSecretExpiresAt":2}`,
		`{"clientId":"a","clientSecret":1}`, `[]`, `null`)
}

func FuzzParseDeviceAuthorization(f *testing.F) {
	fuzzParser(f, awssso.ParseDeviceAuthorization,
		`{"deviceCode":"SECRETSECRET","userCode":"ABCD-EFGH","verificationUri":"https://x","verificationUriComplete":"https://x?c","expiresIn":600,"interval":1}`,
		`{"deviceCode":"d","userCode":"u","verificationUri":"v","expiresIn":-1,"interval":1e9}`)
}

func FuzzParseToken(f *testing.F) {
	fuzzParser(f, awssso.ParseToken,
		`{"accessToken":"SECRETSECRET","tokenType":"Bearer","expiresIn":28800,"refreshToken":"r"}`,
		`{"accessToken":"a","expiresIn":"28800"}`, `{"accessToken":""}`)
}

func FuzzParseRoleCredentials(f *testing.F) {
	fuzzParser(f, awssso.ParseRoleCredentials,
		`{"roleCredentials":{"accessKeyId":"ASIA","secretAccessKey":"SECRETSECRET","sessionToken":"t","expiration":1767225600000}}`,
		`{"roleCredentials":null}`, `{"roleCredentials":{"expiration":1e300}}`)
}
