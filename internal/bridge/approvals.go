package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/devicegate/devicegate/internal/approval"
	"github.com/devicegate/devicegate/internal/telegram"
)

// ApprovalMessenger is the part of the Telegram client the approvals use.
type ApprovalMessenger interface {
	SendMessage(ctx context.Context, chat int64, m telegram.Message) (int, error)
	EditMessage(ctx context.Context, chat int64, id int, m telegram.Message) error
	EditReplyMarkup(ctx context.Context, chat int64, id int, buttons []telegram.Button) error
	AnswerCallback(ctx context.Context, id, text string) error
}

// Approvals asks the owner in the gatekeeper chat (approval.Owner): it
// posts what the agent wants with the buttons Allow once, Allow for 1
// hour and Deny, takes the owner's tap (Tap, fed by Chat), and edits the
// message to show the outcome. Taps from anyone but Owner are answered
// and ignored; every tap is answered, or the button keeps spinning.
type Approvals struct {
	TG      ApprovalMessenger
	Chat    int64
	Owner   int64         // the only user whose taps count
	Timeout time.Duration // shown in the message; the approval.Server enforces it
	Log     *slog.Logger
	Now     func() time.Time

	mu      sync.Mutex
	pending map[string]*pendingApproval // by request id; made on first use
}

type pendingApproval struct {
	msg    int // the message with the buttons; 0 until sent
	choice chan approval.Choice
}

// Answers shown in the person's app after a tap.
const (
	tapNotOwner = "Only the owner can answer this request."
	tapStale    = "This request is no longer waiting."
)

func (a *Approvals) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (a *Approvals) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// sendTimeout and editTimeout bound the question and the edit that shows
// its outcome, which do not stop with the request's context.
const (
	sendTimeout = 30 * time.Second
	editTimeout = 10 * time.Second
)

// Ask implements approval.Owner.
func (a *Approvals) Ask(ctx context.Context, req approval.Request) (approval.Choice, error) {
	id := approval.NewID()
	p := &pendingApproval{choice: make(chan approval.Choice, 1)}
	a.mu.Lock()
	if a.pending == nil {
		a.pending = map[string]*pendingApproval{}
	}
	a.pending[id] = p // before sending: a tap may come before SendMessage returns
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.pending, id)
		a.mu.Unlock()
	}()

	// Sent even if ctx ends meanwhile, so that the message always ends up
	// showing an outcome rather than buttons nobody waits for.
	if _, ok := describeQuestion(req, questionBudget); !ok {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer scancel()
		if _, err := a.TG.SendMessage(sctx, a.Chat, ApprovalMessage(req, id, a.Timeout)); err != nil {
			a.log().Warn("cannot tell the owner about a request too long to show", "err", err)
		}
		return 0, ErrTooLong
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	msg, err := a.TG.SendMessage(sctx, a.Chat, ApprovalMessage(req, id, a.Timeout))
	scancel()
	if err != nil {
		return 0, fmt.Errorf("asking the owner in Telegram: %w", err)
	}
	a.mu.Lock()
	p.msg = msg
	a.mu.Unlock()

	var (
		c       approval.Choice
		outcome string
		ended   error
	)
	select {
	case c = <-p.choice:
		outcome = choiceOutcome(c)
		if req.NewAccount != "" {
			outcome = switchOutcome(c)
		}
	case <-ctx.Done():
		ended = ctx.Err()
		var ans *approval.Answered
		switch cause := context.Cause(ctx); {
		case errors.As(cause, &ans):
			outcome = choiceOutcome(ans.Choice) + " (answered " + ans.Where + ")"
		case errors.Is(cause, approval.ErrTimedOut):
			outcome = "⌛ No answer in time: denied."
		case errors.Is(cause, approval.ErrGranted):
			outcome = "✅ Allowed by your \"Allow for 1 hour\" for the same kind of request."
		case errors.Is(cause, approval.ErrWithdrawn):
			outcome = "↩️ The command stopped waiting: nothing was allowed."
		default:
			outcome = "⏹ devicegate stopped before an answer: denied."
		}
	}
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), editTimeout)
	defer cancel()
	if err := a.TG.EditMessage(ectx, a.Chat, msg, ApprovalOutcome(req, outcome, a.now())); err != nil {
		a.log().Warn("cannot show the approval's outcome in Telegram", "err", err)
	}
	return c, ended
}

func choiceOutcome(c approval.Choice) string {
	switch c {
	case approval.AllowOnce:
		return "✅ Allowed once."
	case approval.AllowHour:
		return "✅ Allowed for 1 hour (the same kind of request asks nothing until then: /grants)."
	}
	return "⛔ Denied."
}

// Tap handles a tap on an inline button of the chat. Every tap is
// answered; only the owner's tap on a waiting request decides it.
func (a *Approvals) Tap(ctx context.Context, u telegram.Update) {
	answer := func(text string) {
		if err := a.TG.AnswerCallback(ctx, u.CallbackID, text); err != nil {
			a.log().Warn("cannot answer a tap", "err", err)
		}
	}
	id, c, err := approval.ParseCallback(u.CallbackData)
	if err != nil {
		answer("")
		a.log().Warn("ignored a tap that is not an approval button", "from", u.FromID)
		return
	}
	if a.Owner == 0 || u.FromID != a.Owner || u.ChatID != a.Chat {
		answer(tapNotOwner)
		a.log().Warn("ignored a tap from someone who is not the owner", "from", u.FromID, "chat", u.ChatID)
		return
	}
	a.mu.Lock()
	p := a.pending[id]
	// The message id is checked once known; a tap can arrive before
	// SendMessage has returned it.
	if p != nil && (p.msg == 0 || p.msg == u.MessageID) {
		delete(a.pending, id) // one answer per request
	} else {
		p = nil
	}
	a.mu.Unlock()
	if p == nil {
		// Decided, timed out, or asked by a serve that has since
		// restarted: take the stale buttons away.
		answer(tapStale)
		if err := a.TG.EditReplyMarkup(ctx, a.Chat, u.MessageID, nil); err != nil {
			a.log().Warn("cannot remove stale approval buttons", "err", err)
		}
		return
	}
	p.choice <- c
	answer(c.Label())
}

// Waiting is the number of requests waiting for the owner.
func (a *Approvals) Waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// ApprovalMessage is the question to the owner, with the three buttons.
func ApprovalMessage(req approval.Request, id string, timeout time.Duration) telegram.Message {
	if timeout <= 0 {
		timeout = approval.DefaultTimeout
	}
	var b strings.Builder
	b.WriteString("🔐 *The agent asks for your approval*\n\n")
	d, ok := describeQuestion(req, questionBudget)
	if !ok {
		return telegram.Message{Text: tooLongText(req)}
	}
	b.WriteString(d)
	fmt.Fprintf(&b, "\nNo answer within %s is a denial\\.", telegram.Escape(humanDuration(timeout)))
	if buttons := signInButtons(req, id); buttons != nil {
		return telegram.Message{Text: b.String(), Buttons: buttons}
	}
	var buttons []telegram.Button
	for i, c := range approval.Choices {
		row := 1
		if i == 2 {
			row = 2
		}
		buttons = append(buttons, telegram.Button{Text: c.Label(), Data: approval.CallbackData(id, c), Row: row})
	}
	return telegram.Message{Text: b.String(), Buttons: buttons}
}

// tooLongText tells the owner of a question denied because it cannot be
// shown in full.
func tooLongText(req approval.Request) string {
	return "⛔ *The agent asked for something too long to show here: denied\\.*\n\n" +
		esc("Profile "+req.Profile+", "+req.Action+" "+telegram.Truncate(req.Method+" "+req.Host, 200)+
			". Nothing was allowed; run it from your own terminal if you want it.")
}

// ApprovalOutcome replaces the question once it is decided: the same
// description, the outcome, no buttons.
func ApprovalOutcome(req approval.Request, outcome string, at time.Time) telegram.Message {
	var b strings.Builder
	b.WriteString("🔐 *The agent asked for your approval*\n\n")
	d, ok := describeQuestion(req, questionBudget)
	if !ok {
		return telegram.Message{Text: tooLongText(req)}
	}
	b.WriteString(d)
	fmt.Fprintf(&b, "\n%s \\(%s\\)", telegram.Escape(outcome), telegram.Escape(at.UTC().Format("15:04 UTC")))
	return telegram.Message{Text: b.String()}
}

func byteSize(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func humanDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d >= time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0 && d >= time.Minute:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d.Round(time.Second)/time.Second), "second")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// shellJoin shows a command line, quoting arguments that need it.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`;&|<>(){}*?[]#~!") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
