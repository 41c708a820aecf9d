package jobq

// The bad-argument table of issue 13: every case fails with an *Error of
// the expected code (never a silent coercion, never a foreign error type),
// and the message names the argument at fault.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBadArgumentsAreErrorsNamingTheArgument(t *testing.T) {
	s := open(t, Options{Clock: ClockFunc(func() int64 { return 1000 })})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	queued := mustSubmit(t, s, "j")
	cases := []struct {
		name string
		call func() error
		want *Error // the sentinel errors.Is must match
		says string // in the message: the argument's name
	}{
		{"DefineJob Priority 7", func() error {
			return s.DefineJob(JobDef{Name: "k", Namespace: "ns", Priority: 7})
		}, ErrInvalid, "Priority: 7 is not a valid value"},
		{"DefineJob Priority -1", func() error {
			return s.DefineJob(JobDef{Name: "k", Namespace: "ns", Priority: -1})
		}, ErrInvalid, "Priority: -1"},
		{"DefineJob Flow 5", func() error {
			return s.DefineJob(JobDef{Name: "k", Namespace: "ns", Flow: 5})
		}, ErrInvalid, "Flow: 5"},
		{"SetJobFlow 9", func() error { return s.SetJobFlow("j", 9) },
			ErrInvalid, "flow: 9"},
		{"Submit Priority 3", func() error {
			_, err := s.Submit("j", &SubmitOptions{Priority: 3})
			return err
		}, ErrInvalid, "Priority: 3"},
		{"SubmitBatch runs[1].Priority 4", func() error {
			_, err := s.SubmitBatch([]BatchRun{{Job: "j"},
				{Job: "j", SubmitOptions: SubmitOptions{Priority: 4}}})
			return err
		}, ErrInvalid, "runs[1].Priority: 4"},
		{"SubmitBatch runs[0].Job NUL", func() error {
			_, err := s.SubmitBatch([]BatchRun{{Job: "j\x00"}})
			return err
		}, ErrInvalid, "runs[0].Job must not contain a NUL"},
		{"ListRuns Priority 5", func() error {
			_, err := s.ListRuns(RunFilter{Priority: 5})
			return err
		}, ErrInvalid, "RunFilter.Priority: 5"},
		{"ListRuns States {99}", func() error {
			_, err := s.ListRuns(RunFilter{States: []RunState{99}})
			return err
		}, ErrInvalid, "RunFilter.States[0]: 99"},
		{"ListRuns States {queued, -2}", func() error {
			_, err := s.ListRuns(RunFilter{States: []RunState{RunQueued, -2}})
			return err
		}, ErrInvalid, "RunFilter.States[1]: -2"},
		{"ListRuns Limit -1", func() error {
			_, err := s.ListRuns(RunFilter{Limit: -1})
			return err
		}, ErrInvalid, "Limit"},
		{"Search limit -1", func() error {
			_, err := s.Search("j", -1)
			return err
		}, ErrInvalid, "limit"},
		{"Report state 42", func() error { return s.Report(queued, 42, "") },
			ErrInvalid, "state: 42"},
		{"SetProperty func value", func() error {
			return s.SetProperty(share, func() {})
		}, ErrInvalid, share + ": the value cannot be sent as JSON"},
		{"Open Durability 2", func() error {
			_, err := Open(Options{Durability: 2})
			return err
		}, ErrInvalid, "Durability: 2"},
		{"Run 0", func() error { _, err := s.Run(0); return err },
			ErrNotFound, "no run with id 0"},
		{"Cancel unknown", func() error { return s.Cancel(1<<40, "") },
			ErrNotFound, "1099511627776"},
		{"ParseQuantity gpu", func() error {
			_, err := ParseQuantity("1", "gpu")
			return err
		}, ErrInvalid, `"gpu"`},
	}
	for _, c := range cases {
		err := c.call()
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %T %v is not a *jobq.Error", c.name, err, err)
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(e.Message, c.says) {
			t.Errorf("%s: got %s %q, want %s containing %q", c.name, e.Name(),
				e.Message, c.want.Name(), c.says)
		}
	}
	// Nothing was coerced into being: no job "k", one run of "j".
	if ids, err := s.ListRuns(RunFilter{}); err != nil || len(ids) != 1 {
		t.Fatalf("runs after the refusals: %v %v", ids, err)
	}
	if _, err := s.Submit("k", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("job k exists: %v", err)
	}
}

func TestJSONErrorStaysReachable(t *testing.T) {
	s := open(t, Options{})
	err := s.SetProperty(share, make(chan int))
	var unsupported *json.UnsupportedTypeError
	if !errors.As(err, &unsupported) {
		t.Fatalf("the json error is lost: %#v", err)
	}
}

func TestCallbackPanicIsAnErrorToo(t *testing.T) {
	s := open(t, Options{OnEvent: func(Event) { panic("boom") }})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	_, err := s.Submit("j", nil)
	var p *CallbackPanic
	var e *Error
	if !errors.As(err, &p) || !errors.As(err, &e) || !errors.Is(err, ErrUser) ||
		e.Code != int(ErrUser.Code) || !strings.Contains(e.Message, "boom") {
		t.Fatalf("got %#v", err)
	}
}

func TestEnumStringsNeverPanic(t *testing.T) {
	if Priority(7).String() != "Priority(7)" || Flow(3).String() != "Flow(3)" ||
		RunState(99).String() != "RunState(99)" || PriorityHigh.String() != "high" {
		t.Fatal("String of an invalid enum")
	}
}

func TestTimeHelpers(t *testing.T) {
	at := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	clock := at
	s := open(t, Options{Clock: ClockOf(func() time.Time { return clock })})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	id := mustSubmit(t, s, "j")
	clock = clock.Add(90 * time.Second)
	if _, err := s.TickTime(clock); err != nil {
		t.Fatal(err)
	}
	info := mustRun(t, s, id)
	if !info.Submitted().Equal(at) || !info.Deployed().Equal(clock) ||
		!info.Ended().IsZero() || info.SubmittedAt != Millis(at) {
		t.Fatalf("times: %v %v %v", info.Submitted(), info.Deployed(), info.Ended())
	}
	if d, err := s.NextDeadlineTime(); err != nil || !(d.IsZero() || d.After(at)) {
		t.Fatalf("deadline %v %v", d, err)
	}
	if TimeOf(-1) != (time.Time{}) || DurationOf(1500) != 1500*time.Millisecond ||
		(Event{WaitMs: 2000}).Wait() != 2*time.Second {
		t.Fatal("conversions")
	}
}
