package oidctest_test

import (
	"context"
	"log"
	"time"

	"github.com/devicegate/devicegate/internal/testing/oidctest"
)

// A benchmark command starts the provider itself; tests call oidctest.Start instead. The device
// shows the user code; the example approves it as "bob" but leaves api:write unticked.
func ExampleStartProcess() {
	ctx := context.Background()
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := oidctest.StartProcess(startCtx, oidctest.Options{PollInterval: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// ... POST client_id=s.PublicClientID&scope=... to s.DeviceAuthorizationEndpoint ...
	userCode := "BCDF-GHJK" // the response's user_code

	err = s.Approve(ctx, userCode, oidctest.ApproveOptions{
		Login:  "bob",
		Scopes: []string{"openid", "offline_access", "api:read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// ... poll s.TokenEndpoint; the answer's scope is "openid offline_access api:read" ...
}
