package console

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-gw/sluice/admin"
)

// Config is what Run needs.
type Config struct {
	Admin    string // admin API address, host:port or URL
	Token    string
	ReadOnly bool
	NoColor  bool // also on when the NO_COLOR environment variable is set and not empty
	In       io.Reader
	Out      io.Writer
}

// Run attaches to the admin API and runs the console until the operator quits or ctx ends.
// It survives the gateway restarting: the stream is re-dialled with backoff and the screen
// says so meanwhile.
func Run(ctx context.Context, c Config) error {
	if os.Getenv("NO_COLOR") != "" {
		c.NoColor = true
	}
	client := admin.NewClient(c.Admin, c.Token)
	o := Options{Admin: c.Admin, ReadOnly: c.ReadOnly, NoColor: c.NoColor}
	if !c.ReadOnly {
		o.Actions = client
	}
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}
	if c.In != nil {
		opts = append(opts, tea.WithInput(c.In))
	}
	if c.Out != nil {
		opts = append(opts, tea.WithOutput(c.Out))
	}
	p := tea.NewProgram(New(o), opts...)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go Feed(sctx, client, p.Send)
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Feed streams frames from the admin API into send until ctx ends, reconnecting with backoff
// (250 ms doubling to 3 s). send may block (bubbletea's Send does while the UI is busy): a
// mailbox of one frame sits between, so a slow console skips frames, merging the sampled
// requests and events of the frames it skipped, and never holds the stream back.
func Feed(ctx context.Context, client *admin.Client, send func(tea.Msg)) {
	box := make(chan admin.Frame, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case f := <-box:
				send(FrameMsg(f))
			}
		}
	}()
	put := func(f admin.Frame) {
		for {
			select {
			case box <- f:
				return
			default:
			}
			select {
			case old := <-box: // the UI is behind: keep the newest stats, all the entries
				f.Tail = appendBounded(old.Tail, f.Tail, maxTail)
				f.Events = appendBounded(old.Events, f.Events, maxEvents)
			default:
			}
		}
	}
	attempt := 0
	for ctx.Err() == nil {
		got := false
		err := client.Stream(ctx, 5*time.Second, func(f admin.Frame) {
			got = true
			put(f)
		})
		if ctx.Err() != nil {
			return
		}
		if got {
			attempt = 0
		}
		attempt++
		send(ConnMsg{Err: err, Attempt: attempt})
		backoff := min(250*time.Millisecond<<min(attempt-1, 4), 3*time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}
