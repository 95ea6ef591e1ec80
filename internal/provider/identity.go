package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/devicegate/devicegate/internal/oauthhttp"
	"github.com/devicegate/devicegate/internal/preset"
	"github.com/devicegate/devicegate/internal/tokencache"
	"golang.org/x/oauth2"
)

// Claims are the id_token claims we keep.
type Claims struct {
	Subject           string `json:"sub"`
	Name              string `json:"name"`
	Email             string `json:"email"`
	PreferredUsername string `json:"preferred_username"`
	ObjectID          string `json:"oid"` // Microsoft: stable user id across apps
}

// ParseIDToken reads the claims of an id_token without checking its
// signature. That is sound here because we receive the id_token directly
// from the token endpoint over TLS (OpenID Connect Core 1.0 §3.1.3.7: "the
// TLS server validation MAY be used to validate the issuer in place of
// checking the token signature"), and we only use it to label the account.
func ParseIDToken(raw string) (Claims, error) {
	var c Claims
	err := DecodeIDToken(raw, &c)
	return c, err
}

// DecodeIDToken decodes the claims of an id_token into v, unchecked, for
// the same reason as ParseIDToken (the code flow reads its nonce).
func DecodeIDToken(raw string, v any) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("id_token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return errors.New("id_token payload is not base64url")
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return errors.New("id_token payload is not a JSON object")
	}
	return nil
}

// IDTokenIdentity returns what the token's id_token says, if it has one.
func IDTokenIdentity(tok *oauth2.Token) tokencache.Account {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return tokencache.Account{}
	}
	c, err := ParseIDToken(raw)
	if err != nil {
		return tokencache.Account{}
	}
	id := tokencache.Account{Name: c.Name, Email: c.Email, Subject: c.Subject}
	if id.Email == "" && strings.Contains(c.PreferredUsername, "@") {
		id.Email = c.PreferredUsername
	}
	if c.ObjectID != "" {
		id.Subject = c.ObjectID
	}
	return id
}

// Identity finds out who signed in: from the id_token when it names the
// person, otherwise from the provider's user endpoint (userinfo, GitHub's
// /user, Microsoft Graph's /me). An identity that cannot be fetched is not
// fatal to a sign-in; the error says why.
func (p *Provider) Identity(ctx context.Context, tok *oauth2.Token) (tokencache.Account, error) {
	id := IDTokenIdentity(tok)
	if id.Complete() {
		return id, nil
	}
	e, err := p.Endpoints(ctx)
	if err != nil {
		return id, err
	}
	auth := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
	switch p.Preset.User {
	case preset.GitHubUser:
		var u struct {
			Login string `json:"login"`
			Name  string `json:"name"`
			Email string `json:"email"`
			ID    int64  `json:"id"`
		}
		api := strings.TrimRight(e.APIURL, "/")
		if err := oauthhttp.GetJSON(ctx, p.HTTP, api+"/user", auth, &u); err != nil {
			return id, err
		}
		gh := tokencache.Account{Name: u.Name, Email: u.Email, Subject: u.Login}
		if gh.Name == "" {
			gh.Name = u.Login
		}
		if gh.Email == "" {
			// The public profile may hide the email; /user/emails needs the
			// user:email scope, so a failure here is not an error.
			var emails []struct {
				Email    string `json:"email"`
				Primary  bool   `json:"primary"`
				Verified bool   `json:"verified"`
			}
			if oauthhttp.GetJSON(ctx, p.HTTP, api+"/user/emails", auth, &emails) == nil {
				for _, m := range emails {
					if m.Primary && m.Verified {
						gh.Email = m.Email
					}
				}
			}
		}
		return gh.Merge(id), nil
	case preset.GraphMe:
		var me struct {
			ID                string `json:"id"`
			DisplayName       string `json:"displayName"`
			Mail              string `json:"mail"`
			UserPrincipalName string `json:"userPrincipalName"`
		}
		if e.UserinfoURL == "" {
			return id, nil
		}
		if err := oauthhttp.GetJSON(ctx, p.HTTP, e.UserinfoURL, auth, &me); err != nil {
			return id, err
		}
		ms := tokencache.Account{Name: me.DisplayName, Email: me.Mail, Subject: me.ID}
		if ms.Email == "" {
			ms.Email = me.UserPrincipalName
		}
		return id.Merge(ms), nil
	default:
		if e.UserinfoURL == "" {
			return id, nil
		}
		var c Claims
		if err := oauthhttp.GetJSON(ctx, p.HTTP, e.UserinfoURL, auth, &c); err != nil {
			return id, err
		}
		ui := tokencache.Account{Name: c.Name, Email: c.Email, Subject: c.Subject}
		if ui.Name == "" {
			ui.Name = c.PreferredUsername
		}
		return id.Merge(ui), nil
	}
}
