package jobq

// Negative status codes become *Error values with the library's message,
// matched by errors.Is against the sentinels; bad Go arguments are refused
// before they reach C.

import (
	"errors"
	"strings"
	"testing"
)

const share = "job-orchestrator.queue.high.scheduling-share-percentage"

func TestErrorsCarryCodeAndMessage(t *testing.T) {
	s := open(t, Options{Clock: ClockFunc(func() int64 { return 1000 })})
	_, err := s.Submit("nightly", nil)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrNotFound) ||
		e.Message != `no job named "nightly"` || e.Name() != "JOBQ_ENOTFOUND" {
		t.Fatalf("got %#v", err)
	}
	if err.Error() != `jobq: no job named "nightly"` {
		t.Fatalf("Error() = %q", err.Error())
	}
	if errors.Is(err, ErrState) {
		t.Fatal("matched the wrong sentinel")
	}
	if _, err := s.Run(42); !errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), "no run with id 42") {
		t.Fatalf("Run(42): %v", err)
	}
}

func TestConfigurationErrorsNameKeyAndRange(t *testing.T) {
	s := open(t, Options{})
	err := s.SetProperty(share, 101)
	if !errors.Is(err, ErrRange) ||
		err.Error() != "jobq: "+share+": 101 is out of range (0..100)" {
		t.Fatalf("got %v", err)
	}
	if v, _ := s.GetProperty(share); string(v) != "90" {
		t.Fatalf("half-applied: %s", v)
	}
	err = s.Configure(`{"services": {"jobOrchestrator": {"settings": {"batchSize": "many"}}}}`)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "batchSize: expected an integer") {
		t.Fatalf("got %v", err)
	}
	if err := s.Configure("{"); !errors.Is(err, ErrParse) {
		t.Fatalf("got %v", err)
	}
	if _, err := s.GetProperty("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v", err)
	}
	doc, err := s.Config()
	if err != nil || !strings.Contains(doc, `"batchSize"`) {
		t.Fatalf("Config: %q %v", doc, err)
	}
	if _, err := Open(Options{Config: `{"batchSize": 3}`}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "batchSize: unknown key") {
		t.Fatalf("Open: %v", err)
	}
}

func TestStateErrors(t *testing.T) {
	s := open(t, Options{Probe: ProbeFunc(func(string) (Resources, Resources, error) {
		return Resources{}, Resources{}, nil // a quota of zero everywhere
	})})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns",
		Request: res(t, map[string]string{"cpu": "1"})}))
	id := mustSubmit(t, s, "j")
	err := s.SetProperty("features.jobOrchestrator.enabled", false)
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("disable: %v", err)
	}
	must(t, s.Cancel(id, ""))
	if err := s.Cancel(id, ""); !errors.Is(err, ErrState) ||
		!strings.Contains(err.Error(), "already ended") {
		t.Fatalf("second cancel: %v", err)
	}
	_, err = s.TickAt(5000)
	must(t, err)
	if _, err := s.TickAt(4000); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "time went backwards") {
		t.Fatalf("backwards: %v", err)
	}
}

func TestArgumentsCheckedBeforeC(t *testing.T) {
	s := open(t, Options{})
	if err := s.DefineJob(JobDef{Name: "a\x00b", Namespace: "ns"}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "NUL") {
		t.Fatalf("NUL: %v", err)
	}
	if err := s.DefineJob(JobDef{Name: "", Namespace: "ns"}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "must not be empty") {
		t.Fatalf("empty: %v", err)
	}
	if _, err := ParseResources(map[string]string{"gpu": "1"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("gpu: %v", err)
	}
	if err := s.SetProperty(share, make(chan int)); err == nil {
		t.Fatal("unmarshallable value accepted")
	}
}

func TestQuantities(t *testing.T) {
	cases := []struct {
		text, kind string
		want       int64
	}{{"500m", "cpu", 500}, {"2", "cpu", 2000}, {"512Mi", "memory", 512 << 20},
		{"1T", "storage", 1e12}, {"3", "pods", 3}, {"unlimited", "cpu", Unlimited}}
	for _, c := range cases {
		if got, err := ParseQuantity(c.text, c.kind); err != nil || got != c.want {
			t.Errorf("%s %s: %d %v", c.text, c.kind, got, err)
		}
	}
	_, err := ParseQuantity("512m", "memory")
	if !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), "did you mean 512Mi") {
		t.Fatalf("512m: %v", err)
	}
	if _, err := ParseQuantity("1e400", "cpu"); !errors.Is(err, ErrRange) {
		t.Fatalf("1e400: %v", err)
	}
	if s, err := FormatQuantity(32<<30, "memory"); err != nil || s != "32Gi" {
		t.Fatalf("format: %q %v", s, err)
	}
	if Version() == "" || VersionNumber() <= 0 {
		t.Fatal("no version")
	}
}

func TestClosedScheduler(t *testing.T) {
	s, err := Open(Options{})
	must(t, err)
	must(t, s.Close())
	must(t, s.Close()) // idempotent
	if _, err := s.Tick(); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("tick after close: %v", err)
	}
	if err := s.DefineJob(JobDef{Name: "j", Namespace: "ns"}); !errors.Is(err, ErrState) {
		t.Fatalf("define after close: %v", err)
	}
}
