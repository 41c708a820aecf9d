package jobq

// Go hosts behind the C vtables: a panic in a callback is recovered and
// returned from the call that triggered it, ordinary host errors go to the
// library, and a callback calling back into its scheduler gets ErrBusy
// instead of a deadlock.

import (
	"errors"
	"strings"
	"testing"
)

func TestProbePanicIsReturnedFromTick(t *testing.T) {
	s := open(t, Options{Probe: ProbeFunc(func(ns string) (Resources, Resources, error) {
		panic("no quota for " + ns)
	})})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	id := mustSubmit(t, s, "j")
	_, err := s.TickAt(1)
	var p *CallbackPanic
	if !errors.As(err, &p) || p.Callback != "probe" || p.Value != "no quota for ns" ||
		len(p.Stack) == 0 {
		t.Fatalf("got %v", err)
	}
	// The library saw a failing probe: the run waits, nothing is lost, and
	// the panic is returned once only.
	if info := mustRun(t, s, id); info.State != RunQueued {
		t.Fatalf("run %+v", info)
	}
}

func TestProbeErrorSkipsNamespace(t *testing.T) {
	fail := true
	s := open(t, Options{Probe: ProbeFunc(func(string) (Resources, Resources, error) {
		if fail {
			return Resources{}, Resources{}, errors.New("apiserver timeout")
		}
		return NoLimit, Resources{}, nil
	})})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	mustSubmit(t, s, "j")
	st, err := s.TickAt(1)
	if err != nil || st.ProbeErrors != 1 || st.Deployed != 0 {
		t.Fatalf("%+v %v", st, err)
	}
	fail = false
	if st, err := s.TickAt(2); err != nil || st.Deployed != 1 {
		t.Fatalf("%+v %v", st, err)
	}
}

type panickyDeployer struct{}

func (panickyDeployer) Deploy(*DeployRequest) error { panic(errors.New("nil map in deployer")) }

func TestDeployPanicIsReturnedAndRunRetried(t *testing.T) {
	log := &eventLog{}
	s := open(t, Options{Deployer: panickyDeployer{}, OnEvent: log.add})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	id := mustSubmit(t, s, "j")
	_, err := s.Tick()
	var p *CallbackPanic
	if !errors.As(err, &p) || p.Callback != "deploy" ||
		!strings.Contains(err.Error(), "nil map in deployer") {
		t.Fatalf("got %v", err)
	}
	// A panic value that is an error is reachable through Unwrap.
	if errors.Unwrap(err) == nil || errors.Unwrap(err).Error() != "nil map in deployer" {
		t.Fatalf("unwrap: %v", errors.Unwrap(err))
	}
	retries := log.ofType("deploy_retry")
	if len(retries) != 1 || retries[0].Run != id ||
		retries[0].Detail != "panic in a Go deploy callback" {
		t.Fatalf("retries %+v", retries)
	}
}

type failingDeployer struct{}

func (failingDeployer) Deploy(*DeployRequest) error {
	return errors.New("namespace is terminating")
}

func TestDeployErrorIsNotReturned(t *testing.T) {
	log := &eventLog{}
	clock := &fakeClock{}
	s := open(t, Options{Deployer: failingDeployer{}, OnEvent: log.add, Clock: clock})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	id := mustSubmit(t, s, "j")
	mustTick(t, s) // an ordinary failure: retried by the library, no error
	retries := log.ofType("deploy_retry")
	if len(retries) != 1 || retries[0].Detail != "namespace is terminating" {
		t.Fatalf("retries %+v", retries)
	}
	// Past the retry budget the run fails with the deployer's message.
	for i := 0; i < 10; i++ {
		d, err := s.NextDeadline()
		must(t, err)
		if d == NoDeadline {
			break
		}
		clock.ms = d
		mustTick(t, s)
	}
	info := mustRun(t, s, id)
	if info.State != RunFailed || !strings.Contains(info.Detail, "namespace is terminating") {
		t.Fatalf("run %+v", info)
	}
}

func TestEventPanicIsReturnedAfterTheCallTookEffect(t *testing.T) {
	s := open(t, Options{OnEvent: func(e Event) { panic("sink rejects " + e.Type) }})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	id, err := s.Submit("j", nil)
	var p *CallbackPanic
	if !errors.As(err, &p) || p.Callback != "event" || p.Value != "sink rejects submitted" {
		t.Fatalf("got %v", err)
	}
	if id == 0 || mustRun(t, s, id).State != RunQueued {
		t.Fatalf("submit did not happen: id %d", id)
	}
}

func TestClockPanicIsReturned(t *testing.T) {
	s := open(t, Options{Clock: ClockFunc(func() int64 { panic("clock source gone") })})
	_, err := s.Tick()
	var p *CallbackPanic
	if !errors.As(err, &p) || p.Callback != "clock" {
		t.Fatalf("got %v", err)
	}
}

func TestReentrantCallFromCallbackIsBusy(t *testing.T) {
	var s *Scheduler
	var inner []error
	s = open(t, Options{OnEvent: func(e Event) {
		_, err := s.Run(e.Run)
		inner = append(inner, err)
		inner = append(inner, s.Close())
	}})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	id := mustSubmit(t, s, "j")
	if len(inner) != 2 {
		t.Fatalf("inner calls %v", inner)
	}
	for _, err := range inner {
		if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "re-entrant") {
			t.Fatalf("inner call: %v", err)
		}
	}
	if mustRun(t, s, id).State != RunQueued {
		t.Fatal("handle unusable after a refused re-entrant call")
	}
}

func TestCallbackMayUseAnotherScheduler(t *testing.T) {
	other := open(t, Options{})
	must(t, other.DefineJob(JobDef{Name: "mirror", Namespace: "ns"}))
	var mirrored []RunID
	s := open(t, Options{OnEvent: func(e Event) {
		id, err := other.Submit("mirror", nil)
		if err != nil {
			panic(err)
		}
		mirrored = append(mirrored, id)
	}})
	must(t, s.DefineJob(JobDef{Name: "j", Namespace: "ns"}))
	mustSubmit(t, s, "j")
	if len(mirrored) != 1 || mustRun(t, other, mirrored[0]).Job != "mirror" {
		t.Fatalf("mirrored %v", mirrored)
	}
}
