package bridge

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devicegate/devicegate/internal/config"
	"github.com/devicegate/devicegate/internal/provider"
	"github.com/devicegate/devicegate/internal/session"
	"github.com/devicegate/devicegate/internal/tokencache"
)

// /status names an AWS sign-in by account and role, and says when a grant
// is one-off.
func TestStatusTextAWSOneOff(t *testing.T) {
	store, _ := tokencache.Open(t.TempDir(), nil)
	exp := time.Now().Add(time.Hour).UTC()
	store.Save(&tokencache.Entry{Profile: "aws", Provider: "aws", AccessToken: "a", Expiry: exp, OneOff: true,
		Account: session.AWSAccount("123456789012", "ReadOnly")})
	pr, err := provider.New(&config.Profile{Name: "aws", Provider: "aws", StartURL: "https://d-1.awsapps.com/start",
		Region: "eu-west-1", AccountID: "123456789012", RoleName: "ReadOnly"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	got := StatusText([]*session.Session{{Profile: "aws", Provider: pr, Store: store}})
	want := "aws (aws): ok as role ReadOnly in AWS account 123456789012, token until " + exp.Format("2006-01-02 15:04 UTC") +
		", one-off grant (no refresh token kept)"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if strings.Contains(got, "\n") {
		t.Fatal("more than one line")
	}
}
